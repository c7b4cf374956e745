"""Installation rate limits scale as GitHub's do; a spent primary limit can answer 429, switched
over the HTTP control API."""

from __future__ import annotations

import httpx

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.testkit import bearer, small_world


def _limit(web: httpx.Client, token: str) -> int:
    resp = web.get("/api/v3/installation/repositories", headers=bearer(token))
    return int(resp.headers["X-RateLimit-Limit"])


def test_installation_limit_grows_with_repositories_and_org_users_up_to_12500(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    small = github_sim.mint_installation_token(world.installation).token
    assert _limit(github_web, small) == 5000  # two repositories
    members = [github_sim.add_user(f"member{n}") for n in range(29)]
    github_sim.add_org("big", admins=[world.alice], members=members)
    big = github_sim.state.account("big")
    assert big is not None
    for n in range(25):
        github_sim.add_repo(big, f"r{n}", files={})
    org_inst = github_sim.install(world.app, big)
    token = github_sim.mint_installation_token(org_inst).token
    assert _limit(github_web, token) == 5000 + 50 * 25 + 50 * 30
    for n in range(25, 200):
        github_sim.add_repo(big, f"r{n}", files={})
    assert _limit(github_web, token) == 12_500
    user = github_sim.mint_user_token(world.app, world.alice)[0].token
    me = github_web.get("/api/v3/user", headers=bearer(user))
    assert me.headers["X-RateLimit-Limit"] == "5000"


def test_control_api_switches_a_spent_primary_limit_to_429(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    assert github_web.post("/_sim/rate-limits", json={"status": 429}).is_success
    github_web.post("/_sim/rate-limits", json={"kind": "installation", "limit": 1})
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 200
    spent = github_web.get("/api/v3/installation/repositories", headers=auth)
    assert spent.status_code == 429 and spent.headers["X-RateLimit-Remaining"] == "0"
    assert "rate limit exceeded" in spent.json()["message"]
    assert github_web.post("/_sim/rate-limits", json={"status": 500}).status_code == 422
    github_web.post(
        "/_sim/rate-limits", json={"secondary_next": 1, "kind": "installation", "limit": 10}
    )
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 403
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 200
