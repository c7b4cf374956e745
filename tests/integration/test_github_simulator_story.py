"""The whole GitHub story against the simulator on a loopback port, validated against GitHub's
published OpenAPI description and webhook schemas as it goes."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import httpx

from tests.fakes.github import GitHubSimulator, ServedSimulator, SpecRecorder
from tests.fakes.github.receiver import Received, WebhookReceiver
from tests.fakes.github.testkit import Pkce, consent, exchange, form_fields, git, git_env, query_of

CALLBACK = "http://127.0.0.1:9/github/callback"
SETUP = "http://127.0.0.1:9/github/setup"
EXPIRES_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _verify(received: Received, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.headers["X-Hub-Signature-256"], expected)


def _install(
    web: httpx.Client, slug: str, login: str, account: str, repo_ids: list[int] | None
) -> dict[str, str]:
    """Click through the install pages: account, then "All" or "Only select" repositories."""
    chooser = web.get(f"/apps/{slug}/installations/new", params={"login": login, "state": "s1"})
    link = re.search(rf'data-login="{account}" href="([^"]+)"', chooser.text)
    assert link is not None, chooser.text
    page = web.get(link.group(1).replace("&amp;", "&"))
    data: dict[str, str | list[str]] = {**form_fields(page.text), "repository_selection": "all"}
    if repo_ids is not None:
        data |= {"repository_selection": "selected", "repository_ids": [str(r) for r in repo_ids]}
    done = web.post(f"/apps/{slug}/installations", data=data)
    assert done.status_code == 302, done.text
    return query_of(done.headers["location"])


def test_user_connects_installs_lists_clones_and_receives_signed_pushes(
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
    github_web: httpx.Client,
    github_spec: SpecRecorder,
    webhook_receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    sim, web, base = github_sim, github_web, github_served.base_url
    github_spec.check_requests = True  # our own client traffic must match the description too
    alice, bob = sim.add_user("alice"), sim.add_user("bob")
    acme = sim.add_org("acme", admins=[alice], members=[bob])
    web_app = sim.add_repo(alice, "web-app", private=True)
    blog = sim.add_repo(alice, "blog", private=False)
    notes = sim.add_repo(alice, "notes", private=True)
    api = sim.add_repo(acme, "api", private=True, files={"app.py": "print('v1')\n"})
    site = sim.add_repo(acme, "site", private=False)
    sim.add_repo(acme, "vault", private=True)
    sim.add_collaborator(api, bob, "write")
    sim.add_collaborator(site, bob, "read")
    app = sim.add_app(
        alice,
        "nanoscale",
        webhook_url=f"{webhook_receiver.url}/app",
        callback_urls=[CALLBACK],
        setup_url=SETUP,
    )

    # Authorize with PKCE; the redirect carries our state back.
    pkce = Pkce.new()
    back = consent(web, app, "alice", redirect_uri=CALLBACK, state="st-1", pkce=pkce)
    assert back["state"] == "st-1"
    tokens = exchange(web, app, code=back["code"], code_verifier=pkce.verifier)
    assert tokens["access_token"].startswith("ghu_") and tokens["expires_in"] == 28800
    user_auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert web.get("/api/v3/user", headers=user_auth).json()["login"] == "alice"

    # Install on alice's account (only two repositories) and on the organization (all).
    mine = _install(web, app.slug, "alice", "alice", [web_app.id, blog.id])
    assert mine["setup_action"] == "install" and mine["state"] == "s1"
    org = _install(web, app.slug, "alice", "acme", None)
    installs = web.get("/api/v3/user/installations", headers=user_auth).json()
    assert {i["id"] for i in installs["installations"]} == {
        int(mine["installation_id"]),
        int(org["installation_id"]),
    }

    def names(inst_id: str, headers: dict[str, str]) -> set[str]:
        body = web.get(f"/api/v3/user/installations/{inst_id}/repositories", headers=headers).json()
        return {r["full_name"] for r in body["repositories"]}

    assert names(mine["installation_id"], user_auth) == {"alice/web-app", "alice/blog"}
    # Bob, a plain member, sees only what he can access, not the whole installation.
    bob_pkce = Pkce.new()
    bob_back = consent(web, app, "bob", redirect_uri=CALLBACK, state="st-2", pkce=bob_pkce)
    bob_tokens = exchange(web, app, code=bob_back["code"], code_verifier=bob_pkce.verifier)
    bob_auth = {"Authorization": f"Bearer {bob_tokens['access_token']}"}
    assert names(org["installation_id"], bob_auth) == {"acme/api", "acme/site"}

    # An installation token narrowed to one repository.
    jwt_auth = {"Authorization": f"Bearer {sim.app_jwt(app)}"}
    minted = web.post(
        f"/api/v3/app/installations/{org['installation_id']}/access_tokens",
        headers=jwt_auth,
        json={"repository_ids": [api.id], "permissions": {"contents": "read"}},
    )
    assert minted.status_code == 201
    token = minted.json()
    assert EXPIRES_AT.match(token["expires_at"])
    assert [r["full_name"] for r in token["repositories"]] == ["acme/api"]

    # Clone the private repository with the token in the environment only.
    env = git_env(base, token["token"], tmp_path)
    clone = tmp_path / "api"
    done = git("clone", "--quiet", f"{base}/acme/api.git", str(clone), env=env)
    assert done.returncode == 0, done.stderr
    assert (clone / "app.py").read_text() == "print('v1')\n"
    assert token["token"] not in (clone / ".git" / "config").read_text()
    refused = git("clone", "--quiet", f"{base}/acme/vault.git", str(tmp_path / "v"), env=env)
    assert refused.returncode != 0 and "not found" in refused.stderr.lower()
    anonymous = git(
        "clone",
        "--quiet",
        f"{base}/acme/api.git",
        str(tmp_path / "a"),
        env=git_env(base, None, tmp_path),
    )
    assert anonymous.returncode != 0

    # A repository webhook with its own secret (needs the webhooks permission).
    hooks_token = web.post(
        f"/api/v3/app/installations/{org['installation_id']}/access_tokens",
        headers=jwt_auth,
        json={"repository_ids": [api.id]},
    ).json()["token"]
    hook = web.post(
        "/api/v3/repos/acme/api/hooks",
        headers={"Authorization": f"token {hooks_token}"},
        json={
            "config": {
                "url": f"{webhook_receiver.url}/repo",
                "content_type": "json",
                "secret": "hook-secret",
            },
            "events": ["push"],
        },
    )
    assert hook.status_code == 201, hook.text

    # A push reaches the App webhook and the repository hook, each signed with its own secret.
    pushed = web.post(
        "/_sim/repos/acme/api/commit",
        json={"branch": "main", "files": {"app.py": "print('v2 ✓')\n"}, "message": "Ship v2 ✓"},
    )
    sha = pushed.json()["result"]
    assert web.post("/_sim/deliveries/wait", json={"timeout": 30}).json()["idle"] is True
    app_push = webhook_receiver.events("push", "/app")
    repo_push = webhook_receiver.events("push", "/repo")
    assert len(app_push) == 1 and len(repo_push) == 1
    assert _verify(app_push[0], app.webhook_secret) and _verify(repo_push[0], "hook-secret")
    assert not _verify(repo_push[0], app.webhook_secret)
    assert app_push[0].headers["X-GitHub-Hook-Installation-Target-Type"] == "integration"
    assert repo_push[0].headers["X-GitHub-Hook-ID"] == str(hook.json()["id"])
    assert app_push[0].guid == repo_push[0].guid  # one event, one X-GitHub-Delivery
    assert f'"after":"{sha}"' in app_push[0].body.decode()
    fetched = git("fetch", "--quiet", "origin", env=env, cwd=clone)
    assert fetched.returncode == 0, fetched.stderr
    assert git("rev-parse", "origin/main", env=env, cwd=clone).stdout.strip() == sha

    # Redeliver the App's push: same delivery id, logged as a redelivery.
    log = web.get("/api/v3/app/hook/deliveries", headers=jwt_auth).json()
    push_item = next(d for d in log if d["event"] == "push")
    assert push_item["guid"] == app_push[0].guid and push_item["status_code"] == 202
    again = web.post(f"/api/v3/app/hook/deliveries/{push_item['id']}/attempts", headers=jwt_auth)
    assert again.status_code == 202
    assert web.post("/_sim/deliveries/wait", json={"timeout": 30}).json()["idle"] is True
    redelivered = webhook_receiver.events("push", "/app")
    assert [r.guid for r in redelivered] == [app_push[0].guid] * 2
    assert redelivered[1].body == app_push[0].body
    relog = web.get("/api/v3/app/hook/deliveries", headers=jwt_auth).json()
    assert relog[0]["redelivery"] is True and relog[0]["guid"] == app_push[0].guid

    # Expired tokens no longer clone.
    sim.state.clock.advance(3601)
    expired = git("clone", "--quiet", f"{base}/acme/api.git", str(tmp_path / "late"), env=env)
    assert expired.returncode != 0

    github_spec.assert_clean()
    assert {"installation-created", "ping", "push"} <= github_spec.keys("webhook")
    assert github_spec.keys("response") == {
        "users/get-authenticated",
        "apps/list-installations-for-authenticated-user",
        "apps/list-installation-repos-for-authenticated-user",
        "apps/create-installation-access-token",
        "repos/create-webhook",
        "apps/list-webhook-deliveries",
        "apps/redeliver-webhook-delivery",
    }
    assert notes.id not in {
        r.id
        for r in sim.state.installation_repos(sim.state.installations[int(mine["installation_id"])])
    }
