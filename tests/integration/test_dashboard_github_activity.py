"""What a GitHub project's owner and the admin read on the dashboard: the connected badge with
the GitHub avatar (and a CSP that lets only the configured GitHub's avatar origin load images),
deliveries in plain words (a duplicate names the original delivery and links the deployment it
caused; branch, tag, deletion, no project, inactive link, archived), webhook health with its
reason, lifecycle banners, and the admins' GitHub health panel (no secret on any of these
pages)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from nanoscale.accounts.models import User
from nanoscale.db.engine import session_scope
from nanoscale.github import health
from nanoscale.github import models as m
from tests.support.api import fast_password_hashing
from tests.support.github_app import WEBHOOK_SECRET, GitHubHarness, Person

__all__ = ["fast_password_hashing"]
pytestmark = [
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.github_harness(delivers=True),
]
HOOK_URL = "/api/integrations/github/webhook"


def _project(gh: GitHubHarness) -> tuple[Person, dict[str, Any]]:
    alice, project = gh.create_shop()
    assert gh.sim.deliverer.wait_idle(120)
    return alice, project


def _deliveries(person: Person, project_id: str) -> list[dict[str, Any]]:
    answer = person.client.get(
        "/api/integrations/github/deliveries", params={"project_id": project_id},
        headers=person.headers,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["deliveries"]
    return rows


def _form(person: Person) -> dict[str, str]:
    return {"csrf_token": person.headers["X-CSRF-Token"]}


def _secrets(gh: GitHubHarness) -> list[str]:
    hooks = [h.secret for r in gh.sim.state.repos.values() for h in r.hooks.values()]
    return [*gh.all_tokens(), gh.world.app.client_secret, WEBHOOK_SECRET,
            *[s for s in hooks if s],
            gh.world.app.private_key_pem.decode().splitlines()[1]]  # fmt: skip


def _assert_no_secret(gh: GitHubHarness, text: str) -> None:
    leaked = [s[:6] for s in _secrets(gh) if s and s in text]
    assert leaked == []


def test_connected_badge_shows_the_github_avatar_allowed_by_the_csp(gh: GitHubHarness) -> None:
    alice = gh.person("alice")
    gh.connect(alice, "octo-alice")
    avatar = f"{gh.served.base_url}/avatars/u/{gh.world.alice.id}?v=4"
    with session_scope(gh.ctx.sessions) as db:
        assert db.scalars(select(m.GitHubUserLink.avatar_url)).one() == avatar
    status = alice.client.get("/api/integrations/github/status", headers=alice.headers)
    assert status.json()["avatar_url"] == avatar
    page = alice.client.get("/settings")
    assert f'<img src="{avatar}"' in page.text and "data-github-avatar" in page.text
    # Images load from the dashboard and this GitHub's avatar origin only.
    assert page.headers["content-security-policy"] == (
        f"frame-ancestors 'none'; img-src 'self' data: {gh.served.base_url}"
    )
    image = gh.sim_web().get(avatar.removeprefix(gh.served.base_url))
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")

    # An avatar address off that origin is never put in the page: the letter shows instead.
    with session_scope(gh.ctx.sessions) as db:
        db.execute(update(m.GitHubUserLink).values(avatar_url="https://evil.example/a.png"))
    page = alice.client.get("/settings")
    assert "evil.example" not in page.text and "data-github-avatar" not in page.text
    assert '<span class="avatar" aria-hidden="true">O</span>' in page.text


def test_deliveries_read_in_plain_words_and_a_duplicate_names_the_original(
    gh: GitHubHarness,
) -> None:
    alice, project = _project(gh)
    repo = gh.world.app_repo
    gh.sim.commit(repo, "main", {"version.txt": "v2\n"}, message="v2")
    gh.sim.create_branch(repo, "feature/x", from_ref="main")
    gh.sim.commit(repo, "feature/x", {"f.txt": "x\n"})
    gh.sim.create_tag(repo, "v1.0")
    gh.sim.delete_branch(repo, "feature/x")
    assert gh.sim.deliverer.wait_idle(120)

    rows = _deliveries(alice, project["id"])
    deployed = next(r for r in rows if r["outcome"] == "deployed")
    duplicate = next(r for r in rows if r["outcome"] == "duplicate")
    # The App's and the repository hook's copies share one GUID: the duplicate names it and
    # links the deployment the original caused.
    assert duplicate["duplicate_of"] == deployed["delivery_id"] == duplicate["delivery_id"]
    assert duplicate["deployment_ids"] == deployed["deployment_ids"] != []
    assert duplicate["summary"] == (
        f"push to main: duplicate of delivery {deployed['delivery_id']} "
        "(the same push through the other webhook)"
    )
    assert deployed["summary"] == "push to main: deployment started"
    summaries = {r["summary"] for r in rows}
    assert "push to feature/x: not the selected branch" in summaries
    assert "push to tag v1.0: tags do not deploy" in summaries
    assert "push to feature/x: branch deleted" in summaries

    tab = alice.client.get(f"/projects/{project['id']}/deliveries")
    assert tab.status_code == 200
    assert f'data-duplicate-of="{deployed["delivery_id"]}"' in tab.text
    link = f'href="/projects/{project["id"]}/deployments/{deployed["deployment_ids"][0]}"'
    assert tab.text.count(link) == 2  # the original's row and its duplicate's
    assert 'push to <span class="mono">feature/x</span>: not the selected branch' in tab.text
    assert 'push to tag <span class="mono">v1.0</span>: tags do not deploy' in tab.text
    _assert_no_secret(gh, tab.text)


def _sign(body: bytes) -> str:
    return "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


def _app_push(gh: GitHubHarness, *, after: str, guid: str | None = None,
              **repository: Any) -> dict[str, Any]:  # fmt: skip
    """A push as the App's webhook delivers it, signed with the App's secret."""
    payload = {"ref": "refs/heads/main", "before": "1" * 40, "after": after, "deleted": False,
               "repository": {"id": gh.world.app_repo.id, "full_name": "octo-alice/app",
                              **repository},
               "pusher": {"name": "octo-alice"}, "head_commit": {"message": "m"}}  # fmt: skip
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": guid or str(uuid.uuid4()),
               "X-GitHub-Hook-ID": "1", "X-GitHub-Hook-Installation-Target-Type": "integration",
               "X-Hub-Signature-256": _sign(body), "Content-Type": "application/json"}  # fmt: skip
    answer = gh.person("alice").client.post(HOOK_URL, content=body, headers=headers)
    assert answer.is_success, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_a_replayed_push_names_the_delivery_that_deployed_it(gh: GitHubHarness) -> None:
    alice, project = _project(gh)
    first = _app_push(gh, after="c" * 40)
    assert first["outcome"] == "deployed"
    # The same push under a new GUID (a replayed body) and GitHub's Redeliver of the original.
    replay = _app_push(gh, after="c" * 40)
    assert replay["outcome"] == "duplicate"
    assert replay["duplicate_of"] == first["delivery_id"] != replay["delivery_id"]
    assert replay["deployment_ids"] == first["deployment_ids"]
    redelivered = _app_push(gh, after="c" * 40, guid=first["delivery_id"])
    assert redelivered["duplicate_of"] == first["delivery_id"]
    assert redelivered["deployment_ids"] == first["deployment_ids"]
    row = next(r for r in _deliveries(alice, project["id"])
               if r["delivery_id"] == replay["delivery_id"])  # fmt: skip
    assert row["summary"] == f"push to main: duplicate of delivery {first['delivery_id']}"

    archived = _app_push(gh, after="d" * 40, archived=True)
    assert (archived["outcome"], archived["reason"]) == ("ignored", "repository archived")
    unknown = _app_push(gh, after="d" * 40, id=gh.world.site.id)
    assert unknown["reason"] == "no linked project"
    alice.client.post("/settings/github/disconnect", data={**_form(alice), "confirm": "disconnect"})
    inactive = _app_push(gh, after="e" * 40)
    assert inactive["reason"] == "link inactive (GitHub disconnected or access lost)"
    summaries = [r["summary"] for r in _deliveries(alice, project["id"])]
    assert "push to main: repository archived" in summaries
    assert "push to main: link inactive (GitHub disconnected or access lost)" in summaries


def test_project_page_shows_webhook_health_and_lifecycle_banners(gh: GitHubHarness) -> None:
    alice, project = _project(gh)
    url = f"/projects/{project['id']}"
    page = alice.client.get(url).text
    assert 'data-webhook-health="active"' in page and "data-banner" not in page
    gh.sim.commit(gh.world.app_repo, "main", {"version.txt": "v2\n"}, message="v2")
    assert gh.sim.deliverer.wait_idle(120)
    page = alice.client.get(url).text
    assert 'data-last-delivery-outcome="' in page and "push to main:" in page

    # Missing, with GitHub's reason in words.
    with session_scope(gh.ctx.sessions) as db:
        missing = {"webhook_id": None, "webhook_error": "github_access_lost"}
        db.execute(update(m.ProjectGitHubLink).values(**missing))
    page = alice.client.get(url).text
    assert 'data-webhook-health="missing"' in page
    assert "lacks the Webhooks (write) permission" in page

    repo, installation = gh.world.app_repo, next(iter(gh.sim.state.installations.values()))
    for act, undo, banner in [
        (lambda: gh.sim.archive_repo(repo), lambda: gh.sim.unarchive_repo(repo), "archived"),
        (lambda: gh.sim.suspend(installation), lambda: gh.sim.unsuspend(installation),
         "suspended"),
    ]:  # fmt: skip
        act()
        assert gh.sim.deliverer.wait_idle(120)
        assert f'data-banner="{banner}"' in alice.client.get(url).text, banner
        undo()
        assert gh.sim.deliverer.wait_idle(120)
        assert f'data-banner="{banner}"' not in alice.client.get(url).text, banner
    gh.sim.rename_repo(repo, "app-renamed")
    assert gh.sim.deliverer.wait_idle(120)
    page = alice.client.get(url).text
    assert 'data-banner="renamed"' in page and "octo-alice/app-renamed" in page
    alice.client.post("/settings/github/disconnect", data={**_form(alice), "confirm": "disconnect"})
    assert 'data-banner="access-lost"' in alice.client.get(url).text


def test_health_panel_runs_the_github_checks_for_admins_only(gh: GitHubHarness) -> None:
    alice, _ = _project(gh)
    bob = gh.person("bob")
    assert "data-github-health" in alice.client.get("/settings").text
    assert "data-check-github" not in bob.client.get("/settings").text

    page = alice.client.post("/settings/github/health", data=_form(alice))
    assert page.status_code == 200, page.text
    assert 'data-github-health-result="ok"' in page.text
    for name in ("github app", "github clock", "github permissions", "github app webhook",
                 "github deliveries", "github hook octo-alice/app"):  # fmt: skip
        assert f'data-check="{name}" data-check-ok="true"' in page.text, name
    _assert_no_secret(gh, page.text)
    # htmx posts the same form and swaps in only the panel.
    htmx = alice.client.post(
        "/settings/github/health", data=_form(alice), headers={"HX-Request": "true"}
    )
    assert 'id="github-health"' in htmx.text

    # A fault is named with its fix.
    hook = next(iter(gh.world.app_repo.hooks.values()))
    hook.url = "https://elsewhere.example/hook"
    page = alice.client.post("/settings/github/health", data=_form(alice))
    assert 'data-github-health-result="problems"' in page.text
    assert 'data-check="github hook octo-alice/app" data-check-ok="false"' in page.text
    assert "change its Payload URL on GitHub" in page.text

    refused = bob.client.post("/settings/github/health", data=_form(bob))
    assert refused.status_code == 403
    assert "data-check=" not in refused.text


def test_health_checks_answer_within_their_deadline_when_github_hangs(gh: GitHubHarness) -> None:
    alice = gh.person("alice")
    gh.sim.faults.add(r"/app$", hang=3, times=1)  # GitHub accepts the call, then says nothing
    with session_scope(gh.ctx.sessions) as db:
        user = db.scalars(select(User).where(User.username == "alice")).one()
        checks = health.check_github(db, ctx=gh.ctx, user=user, deadline=0.5)
    assert [(c.name, c.ok) for c in checks] == [("github", False)]
    assert "did not answer every check within" in checks[0].detail
    assert "NANOSCALE_GITHUB_API_URL" in checks[0].fix
    assert alice.client.get("/settings").status_code == 200  # nothing was left locked
