"""Rate limits (primary and secondary), Link-header pagination and route faults."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.testkit import bearer, small_world


def _installation_auth(sim: GitHubSimulator) -> dict[str, str]:
    world = small_world(sim)
    return bearer(sim.mint_installation_token(world.installation).token)


def test_rate_limit_headers_count_down_per_credential(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    auth = _installation_auth(github_sim)
    first = github_web.get("/api/v3/installation/repositories", headers=auth)
    second = github_web.get("/api/v3/installation/repositories", headers=auth)
    assert first.headers["X-RateLimit-Limit"] == "5000"
    assert (
        int(first.headers["X-RateLimit-Remaining"]) - int(second.headers["X-RateLimit-Remaining"])
        == 1
    )
    assert (
        second.headers["X-RateLimit-Used"] == "2"
        and second.headers["X-RateLimit-Resource"] == "core"
    )
    anonymous = github_web.get("/api/v3/repos/alice/site")
    assert anonymous.headers["X-RateLimit-Limit"] == "60"


def test_exhausted_primary_limit_answers_403_until_the_window_resets(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    github_sim.rate_limits.set_limit("installation", 2)
    for _ in range(2):
        assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 200
    limited = github_web.get("/api/v3/installation/repositories", headers=auth)
    assert limited.status_code == 403
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.json()["message"].startswith("API rate limit exceeded for installation ID")
    reset = int(limited.headers["X-RateLimit-Reset"])
    github_sim.state.clock.advance(reset - github_sim.state.clock.now().timestamp() + 1)
    # The window is per installation, so a fresh token (the old one has expired too) counts anew.
    fresh = bearer(github_sim.mint_installation_token(world.installation).token)
    again = github_web.get("/api/v3/installation/repositories", headers=fresh)
    assert again.status_code == 200 and again.headers["X-RateLimit-Remaining"] == "1"


def test_primary_limit_can_answer_429_instead(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    github_sim.rate_limits.set_limit("anonymous", 0)
    github_sim.rate_limits.status = 429
    small_world(github_sim)
    assert github_web.get("/api/v3/repos/alice/site").status_code == 429


def test_secondary_limit_answers_403_with_retry_after(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    auth = _installation_auth(github_sim)
    github_sim.rate_limits.secondary_per_minute = 2

    def hook(n: int) -> dict[str, object]:
        return {"config": {"url": f"http://127.0.0.1:9/h{n}", "content_type": "json"}}

    statuses = [
        github_web.post("/api/v3/repos/alice/app/hooks", headers=auth, json=hook(n)).status_code
        for n in range(3)
    ]
    assert statuses == [201, 201, 403]
    limited = github_web.post("/api/v3/repos/alice/app/hooks", headers=auth, json=hook(4))
    assert limited.headers["Retry-After"] == "60"
    assert "secondary rate limit" in limited.json()["message"]
    assert github_web.get("/api/v3/repos/alice/app/hooks", headers=auth).status_code == 200


def test_secondary_limit_can_be_forced_for_the_next_request(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    auth = _installation_auth(github_sim)
    github_sim.rate_limits.secondary_next = 1
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 403
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 200


def _links(resp: httpx.Response) -> dict[str, str]:
    return {
        rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', resp.headers.get("Link", ""))
    }


def test_pagination_follows_link_headers_through_every_repository(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    for n in range(150):
        github_sim.add_repo(world.alice, f"r{n:03d}", private=True, files={})
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    first = github_web.get(
        "/api/v3/installation/repositories", params={"per_page": 100}, headers=auth
    )
    assert first.json()["total_count"] == 152 and len(first.json()["repositories"]) == 100
    assert set(_links(first)) == {"next", "last"}
    names = [r["name"] for r in first.json()["repositories"]]
    url: str | None = _links(first)["next"]
    while url:
        page = github_web.get(url, headers=auth)
        names += [r["name"] for r in page.json()["repositories"]]
        url = _links(page).get("next")
    assert len(names) == len(set(names)) == 152
    assert set(_links(page)) == {"prev", "first"}


def test_per_page_is_capped_at_one_hundred(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    for n in range(105):
        github_sim.add_repo(world.alice, f"r{n:03d}", private=False, files={})
    listed = github_web.get(
        "/api/v3/installation/repositories",
        params={"per_page": 500},
        headers=bearer(github_sim.mint_installation_token(world.installation).token),
    )
    assert len(listed.json()["repositories"]) == 100


def test_route_fault_answers_5xx_a_given_number_of_times(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    auth = _installation_auth(github_sim)
    github_sim.faults.add(r"/installation/repositories$", status=502, times=2)
    statuses = [
        github_web.get("/api/v3/installation/repositories", headers=auth).status_code
        for _ in range(3)
    ]
    assert statuses == [502, 502, 200]


def test_hanging_route_makes_a_short_client_timeout_fire(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    auth = _installation_auth(github_sim)
    github_sim.faults.add(r"/installation/repositories$", hang=2.0, times=1)
    with pytest.raises(httpx.ReadTimeout):
        github_web.get("/api/v3/installation/repositories", headers=auth, timeout=0.2)
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 200


def test_faults_can_be_switched_over_the_control_api(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    small_world(github_sim)
    assert (
        github_web.post("/_sim/faults", json={"path": "/repos/", "status": 503}).status_code == 200
    )
    assert github_web.get("/api/v3/repos/alice/site").status_code == 503
    assert github_web.delete("/_sim/faults").status_code == 200
    assert github_web.get("/api/v3/repos/alice/site").status_code == 200


def test_route_rate_limit_fault_answers_like_a_spent_budget(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    auth = _installation_auth(github_sim)
    github_sim.faults.add(r"/access_tokens$", method="POST", rate_limited=True, times=1)
    world_inst = github_sim.state.live_installations()[0]
    jwt_auth = bearer(github_sim.app_jwt(world_inst.app))
    path = f"/api/v3/app/installations/{world_inst.id}/access_tokens"
    limited = github_web.post(path, headers=jwt_auth)
    assert limited.status_code == 403 and limited.headers["X-RateLimit-Remaining"] == "0"
    assert "rate limit" in limited.json()["message"]
    assert github_web.post(path, headers=jwt_auth).status_code == 201
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 200


def test_rate_limit_endpoint_reports_the_budget_without_spending_it(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    auth = _installation_auth(github_sim)
    github_web.get("/api/v3/installation/repositories", headers=auth)
    first = github_web.get("/api/v3/rate_limit", headers=auth).json()
    second = github_web.get("/api/v3/rate_limit", headers=auth).json()
    assert first["resources"]["core"]["used"] == second["rate"]["used"] == 1
    assert first["resources"]["core"]["remaining"] == 4999


def test_clock_and_rate_limits_can_be_driven_over_the_control_api(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    auth = _installation_auth(github_sim)
    assert github_web.post(
        "/_sim/rate-limits", json={"kind": "installation", "limit": 0}
    ).is_success
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 403
    github_web.post("/_sim/rate-limits", json={"kind": "installation", "limit": 10})
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 200
    assert github_web.post("/_sim/clock", json={"advance": 3601}).is_success
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 401
