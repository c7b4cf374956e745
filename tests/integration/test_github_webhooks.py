"""Push-to-deploy: the webhook endpoint (signatures per source over raw bytes, 401/400/413/
202/200), delivery records per (GUID, hook), repository hooks with an encrypted secret (one per
repository), and exactly one deployment per push whatever the number of copies.

Pushes through the real server and the simulator's own deliveries (both hooks, other branches,
tags, deletions, a hundred concurrent copies, Redeliver, rename, dropped deliveries, delete) are
in test_github_push_served.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from nanoscale.accounts.models import AuditEvent
from nanoscale.db.engine import session_scope
from nanoscale.deployments.models import Deployment
from nanoscale.github import models as m
from nanoscale.github.sealed import unseal
from nanoscale.github.webhooks.verify import signature_matches
from tests.fakes.github import gitstore
from tests.support.api import fast_password_hashing
from tests.support.github_app import WEBHOOK_SECRET, GitHubHarness

__all__ = ["fast_password_hashing"]
pytestmark = [
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.github_harness(delivers=True),
]
URL = "/api/integrations/github/webhook"


def _sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_githubs_published_signature_test_vector() -> None:
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_matches(b"It's a Secret to Everybody", b"Hello, World!", header)
    assert not signature_matches(b"It's a Secret to Everybody", b"Hello, World?", header)
    assert not signature_matches(b"It's a Secret to Everybody", b"Hello, World!", header[7:])
    sha1 = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"
    assert not signature_matches(b"It's a Secret to Everybody", b"Hello, World!", sha1)


def _deployments(gh: GitHubHarness, project_id: str) -> list[Deployment]:
    with session_scope(gh.ctx.sessions) as db:
        return list(db.scalars(select(Deployment).where(Deployment.project_id == project_id)))


def test_project_creation_installs_one_repository_hook_with_the_stored_secret(
    gh: GitHubHarness,
) -> None:
    gh.create_shop()
    hooks = list(gh.world.app_repo.hooks.values())
    assert len(hooks) == 1
    hook = hooks[0]
    assert hook.url == "http://testserver/api/integrations/github/webhook"
    assert hook.content_type == "json" and hook.events == ["push"] and hook.active
    with session_scope(gh.ctx.sessions) as db:
        link = db.scalars(select(m.ProjectGitHubLink)).one()
        assert link.webhook_id == hook.id and link.webhook_error is None
        stored = unseal(gh.ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, link.id,
                        link.webhook_secret_encrypted)  # fmt: skip
        assert stored == hook.secret and hook.secret not in link.webhook_secret_encrypted
    # GitHub pings a hook as soon as it exists, maybe before NanoScale has saved its id: the
    # ping still verifies (the secret was stored before the hook was created).
    assert gh.sim.deliverer.wait_idle(120)
    pings = [d for d in gh.sim.state.deliveries
             if d.event == "ping" and d.target_type == "repository"]  # fmt: skip
    assert [d.status_code for d in pings] == [200], [
        (d.status_code, d.response_body) for d in pings
    ]

    # A second project on the same repository shares the hook (adopted, not duplicated).
    alice = gh.person("alice")
    body = {"name": "shop-2", "start_command": "python3 app.py",
            "github_source": {"installation_id": link.installation_id,
                              "repo_id": gh.world.app_repo.id}}  # fmt: skip
    assert alice.client.post("/api/projects", json=body, headers=alice.headers).is_success
    assert len(gh.world.app_repo.hooks) == 1


def _post(gh: GitHubHarness, body: bytes, headers: dict[str, str]) -> Any:
    return gh.person("alice").client.post(URL, content=body, headers=headers)


def _push_body(gh: GitHubHarness, after: str) -> bytes:
    repo = gh.world.app_repo
    payload = {"ref": "refs/heads/main", "before": "0" * 39 + "1", "after": after,
               "deleted": False, "repository": {"id": repo.id, "full_name": repo.full_name},
               "pusher": {"name": "octo-alice"},
               "head_commit": {"message": "é ünïcode"}}  # fmt: skip
    return json.dumps(payload, ensure_ascii=False).encode()


def _app_headers(body: bytes, *, guid: str | None = None, secret: str = WEBHOOK_SECRET) -> dict:
    return {"X-GitHub-Event": "push", "X-GitHub-Delivery": guid or str(uuid.uuid4()),
            "X-GitHub-Hook-ID": "1", "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-Hub-Signature-256": _sign(secret, body),
            "Content-Type": "application/json"}  # fmt: skip


def test_endpoint_answers_bad_deliveries_clearly_and_records_nothing(gh: GitHubHarness) -> None:
    _, project = gh.create_shop()
    head = gitstore.resolve(gh.world.app_repo.path, "refs/heads/main")
    assert head is not None
    body = _push_body(gh, "a" * 40)
    with session_scope(gh.ctx.sessions) as db:
        link = db.scalars(select(m.ProjectGitHubLink)).one()
        hook_secret = unseal(gh.ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, link.id,
                             link.webhook_secret_encrypted)  # fmt: skip
    wrong = _app_headers(body, secret="not-the-secret")
    assert _post(gh, body, wrong).status_code == 401
    unsigned = {k: v for k, v in _app_headers(body).items() if k != "X-Hub-Signature-256"}
    assert _post(gh, body, unsigned).status_code == 401
    # The repository hook's secret does not sign App deliveries, and vice versa.
    assert _post(gh, body, _app_headers(body, secret=hook_secret)).status_code == 401
    as_repo = _app_headers(body) | {"X-GitHub-Hook-Installation-Target-Type": "repository",
                                    "X-GitHub-Hook-ID": str(link.webhook_id)}  # fmt: skip
    assert _post(gh, body, as_repo).status_code == 401
    # Signed over other bytes (re-serialized JSON) fails: raw bytes are what count.
    reserialized = json.dumps(json.loads(body)).encode()
    assert _post(gh, body, _app_headers(reserialized)).status_code == 401
    no_event = {k: v for k, v in _app_headers(body).items() if k != "X-GitHub-Event"}
    assert _post(gh, body, no_event).status_code == 400
    not_json = b"[1, 2]"
    assert _post(gh, not_json, _app_headers(not_json)).status_code == 400
    big = b"{" + b" " * (25 * 1024 * 1024) + b"}"
    assert _post(gh, big, _app_headers(big)).status_code == 413
    assert len(_deployments(gh, project["id"])) == 1
    with session_scope(gh.ctx.sessions) as db:
        recorded = db.query(m.GitHubWebhookDelivery).filter_by(head_commit="a" * 40).count()
        assert recorded == 0

    ok = _post(gh, body, _app_headers(body))
    assert ok.status_code == 202, ok.text
    assert ok.json()["outcome"] == "deployed"
    by_hook = _app_headers(body) | {"X-GitHub-Hook-Installation-Target-Type": "repository",
                                    "X-GitHub-Hook-ID": str(link.webhook_id),
                                    "X-Hub-Signature-256": _sign(hook_secret, body)}  # fmt: skip
    assert _post(gh, body, by_hook).json()["outcome"] == "duplicate"
    # The same push replayed under a new GUID deploys nothing new.
    replay = _post(gh, body, _app_headers(body))
    assert replay.status_code == 200 and replay.json()["outcome"] == "duplicate"
    assert len([d for d in _deployments(gh, project["id"]) if d.trigger == "push"]) == 1


def test_failed_signature_floods_are_rate_limited(gh: GitHubHarness) -> None:
    body = b"{}"
    codes = [_post(gh, body, _app_headers(body, secret="forged")).status_code for _ in range(40)]
    assert codes[0] == 401 and codes[-1] == 429
    # A genuine delivery from the same address is still accepted: no valid push is refused.
    ping = _app_headers(body) | {"X-GitHub-Event": "ping"}
    assert _post(gh, body, ping).status_code == 200


def test_deliveries_explain_pushes_and_deleting_the_last_project_removes_the_hook(
    gh: GitHubHarness,
) -> None:
    alice, project = gh.create_shop()
    gh.sim.create_branch(gh.world.app_repo, "other", from_ref="main")
    sha = gh.sim.commit(gh.world.app_repo, "main", {"version.txt": "v3\n"})
    assert gh.sim.deliverer.wait_idle(120)
    listed = alice.client.get("/api/integrations/github/deliveries",
                              params={"project_id": project["id"]})  # fmt: skip
    assert listed.status_code == 200, listed.text
    rows = listed.json()["deliveries"]
    assert any(r["outcome"] == "deployed" and r["after"] == sha for r in rows)
    sent = [(d.event, d.target_type, d.status_code) for d in gh.sim.state.deliveries]
    assert any(r["reason"] == "not the selected branch" for r in rows), (rows, sent)
    bob = gh.person("bob")
    foreign = bob.client.get("/api/integrations/github/deliveries",
                             params={"project_id": project["id"]})  # fmt: skip
    assert foreign.status_code == 404

    deleted = alice.client.delete(f"/api/projects/{project['id']}", headers=alice.headers)
    assert deleted.status_code == 204, deleted.text
    assert gh.world.app_repo.hooks == {}
    with session_scope(gh.ctx.sessions) as db:
        assert db.query(m.ProjectGitHubLink).count() == 0


def test_rename_keeps_deploying_and_removal_or_revocation_deactivates(gh: GitHubHarness) -> None:
    alice, project = gh.create_shop()
    repo = gh.world.app_repo
    gh.sim.rename_repo(repo, "shop-app")
    assert gh.sim.deliverer.wait_idle(120)
    refreshed = alice.client.get(f"/api/projects/{project['id']}").json()
    sent = [
        (d.event, d.target_type, d.status_code, d.response_body) for d in gh.sim.state.deliveries
    ]
    assert refreshed["repo_url"].endswith("/octo-alice/shop-app.git"), sent
    with session_scope(gh.ctx.sessions) as db:
        changes = db.scalars(select(AuditEvent).where(AuditEvent.action == "github.lifecycle"))
        assert ("repository", "renamed") in {
            ((a.details or {}).get("event"), (a.details or {}).get("action")) for a in changes
        }
    sha = gh.sim.commit(repo, "main", {"version.txt": "v4\n"})
    assert gh.sim.deliverer.wait_idle(120)
    pushed = [d for d in _deployments(gh, project["id"]) if d.trigger == "push"]
    assert [d.commit_sha for d in pushed] == [sha]

    # The repository leaves the installation: the link goes inactive, pushes are ignored.
    gh.sim.set_installation_repos(gh.sim.state.installations[_installation(gh)], [gh.world.site])
    assert gh.sim.deliverer.wait_idle(120)
    with session_scope(gh.ctx.sessions) as db:
        assert db.scalars(select(m.ProjectGitHubLink.active)).one() is False

    # The user revokes NanoScale on GitHub: the App is told, the link goes.
    payload = {"action": "revoked", "sender": {"id": gh.world.alice.id, "login": "octo-alice"}}
    body = json.dumps(payload).encode()
    headers = _app_headers(body) | {"X-GitHub-Event": "github_app_authorization"}
    assert _post(gh, body, headers).json()["outcome"] == "updated"
    assert alice.client.get("/api/integrations/github/status").json()["connected"] is False

    # The repository comes back into the installation: the link stays inactive, because its
    # owner disconnected (only a link deactivated by the removal itself comes back).
    gh.sim.set_installation_repos(gh.sim.state.installations[_installation(gh)], None)
    assert gh.sim.deliverer.wait_idle(120)
    added = [d for d in gh.sim.state.deliveries if d.event == "installation_repositories"][-1]
    assert added.payload["action"] == "added" and added.status_code == 200
    with session_scope(gh.ctx.sessions) as db:
        assert db.scalars(select(m.ProjectGitHubLink.active)).one() is False


def _installation(gh: GitHubHarness) -> int:
    with session_scope(gh.ctx.sessions) as db:
        return db.scalars(select(m.ProjectGitHubLink.installation_id)).one()
