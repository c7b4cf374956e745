"""The App's webhook over REST: its config, cursor-paged delivery log with filters, and
installation lookups by repository, user and organization."""

from __future__ import annotations

import re

import httpx

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.testkit import bearer, small_world


def _next(resp: httpx.Response) -> str | None:
    found = re.search(r'<([^>]+)>; rel="next"', resp.headers.get("Link", ""))
    return found.group(1) if found else None


def test_app_hook_config_reads_and_updates_only_what_is_sent(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    jwt_auth = bearer(github_sim.app_jwt(world.app))
    config = github_web.get("/api/v3/app/hook/config", headers=jwt_auth).json()
    assert config == {
        "content_type": "json",
        "insecure_ssl": "0",
        "url": f"{webhook_receiver.url}/app",
        "secret": "********",
    }
    moved = {"url": f"{webhook_receiver.url}/moved"}
    updated = github_web.patch("/api/v3/app/hook/config", headers=jwt_auth, json=moved).json()
    assert updated["url"].endswith("/moved") and updated["secret"] == "********"
    github_sim.commit(world.private, "main", {"a": "1"})
    github_sim.deliveries.wait_idle()
    assert [r.path for r in webhook_receiver.events("push")] == ["/moved"]
    bad = github_web.patch("/api/v3/app/hook/config", headers=jwt_auth, json={"url": "nope"})
    assert bad.status_code == 422
    user = bearer(github_sim.mint_user_token(world.app, world.alice)[0].token)
    assert github_web.get("/api/v3/app/hook/config", headers=user).status_code == 401


def test_delivery_log_pages_by_cursor_and_filters_by_outcome_and_redelivery(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    jwt_auth = bearer(github_sim.app_jwt(world.app))
    github_sim.deliveries.wait_idle()
    for n in range(4):
        webhook_receiver.status = 500 if n % 2 else 200
        github_sim.commit(world.private, "main", {"a": str(n)})
        github_sim.deliveries.wait_idle()
    url: str | None = "/api/v3/app/hook/deliveries?per_page=2"
    seen: list[int] = []
    while url:
        page = github_web.get(url, headers=jwt_auth)
        assert page.status_code == 200 and len(page.json()) <= 2
        seen += [d["id"] for d in page.json()]
        url = _next(page)
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)  # 4 pushes + installation
    failed = github_web.get(
        "/api/v3/app/hook/deliveries", params={"status": "failure"}, headers=jwt_auth
    ).json()
    assert [d["status_code"] for d in failed] == [500, 500]
    ok = github_web.get(
        "/api/v3/app/hook/deliveries", params={"status": "success"}, headers=jwt_auth
    ).json()
    assert len(ok) == 3
    github_web.post(f"/api/v3/app/hook/deliveries/{failed[0]['id']}/attempts", headers=jwt_auth)
    github_sim.deliveries.wait_idle()
    again = github_web.get(
        "/api/v3/app/hook/deliveries", params={"redelivery": "true"}, headers=jwt_auth
    ).json()
    assert [d["guid"] for d in again] == [failed[0]["guid"]]
    bad = github_web.get("/api/v3/app/hook/deliveries?cursor=garbage", headers=jwt_auth)
    assert bad.status_code == 422


def test_installation_lookup_by_repository_user_and_organization(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    jwt_auth = bearer(github_sim.app_jwt(world.app))
    by_repo = github_web.get("/api/v3/repos/alice/app/installation", headers=jwt_auth)
    assert by_repo.status_code == 200 and by_repo.json()["id"] == world.installation.id
    assert github_web.get("/api/v3/users/alice/installation", headers=jwt_auth).json()["id"] == (
        world.installation.id
    )
    foreign = github_sim.add_repo(world.bob, "foreign", private=True)
    missing = github_web.get(f"/api/v3/repos/bob/{foreign.name}/installation", headers=jwt_auth)
    assert missing.status_code == 404
    assert github_web.get("/api/v3/orgs/acme/installation", headers=jwt_auth).status_code == 404
    org_inst = github_sim.install(world.app, world.org)
    assert github_web.get("/api/v3/orgs/acme/installation", headers=jwt_auth).json()["id"] == (
        org_inst.id
    )
    assert github_web.get("/api/v3/users/acme/installation", headers=jwt_auth).status_code == 404
    token = bearer(github_sim.mint_installation_token(world.installation).token)
    assert github_web.get("/api/v3/repos/alice/app/installation", headers=token).status_code == 401


def test_deliveries_older_than_three_days_are_gone_and_cannot_be_redelivered(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    github_sim.state.clock.freeze()
    github_sim.commit(world.private, "main", {"a": "1"})
    github_sim.deliveries.wait_idle()
    github_sim.state.clock.advance(3 * 86400 - 60)
    jwt_auth = bearer(github_sim.app_jwt(world.app))
    (push,) = [
        d
        for d in github_web.get("/api/v3/app/hook/deliveries", headers=jwt_auth).json()
        if d["event"] == "push"
    ]
    github_sim.state.clock.advance(120)
    jwt_auth = bearer(github_sim.app_jwt(world.app))
    assert github_web.get("/api/v3/app/hook/deliveries", headers=jwt_auth).json() == []
    attempt = f"/api/v3/app/hook/deliveries/{push['id']}/attempts"
    assert github_web.post(attempt, headers=jwt_auth).status_code == 404
