"""Conditional requests: ETags on GETs, 304 for a matching If-None-Match, not counted."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.testkit import World, bearer, small_world


def _used(resp: httpx.Response) -> int:
    return int(resp.headers["X-RateLimit-Used"])


def _auth(sim: GitHubSimulator, world: World, kind: str) -> dict[str, str]:
    if kind == "user":
        return bearer(sim.mint_user_token(world.app, world.alice)[0].token)
    return bearer(sim.mint_installation_token(world.installation).token)


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("user", "/api/v3/user/installations"),
        ("user", "/api/v3/user/installations/{inst}/repositories"),
        ("installation", "/api/v3/installation/repositories"),
        ("installation", "/api/v3/repos/alice/app"),
        ("installation", "/api/v3/repos/alice/app/branches"),
        ("installation", "/api/v3/repos/alice/app/branches/main"),
    ],
)
def test_matching_etag_answers_304_without_spending_the_rate_limit(
    github_sim: GitHubSimulator, github_web: httpx.Client, kind: str, path: str
) -> None:
    world = small_world(github_sim)
    auth = _auth(github_sim, world, kind)
    url = path.format(inst=world.installation.id)
    first = github_web.get(url, headers=auth)
    assert first.status_code == 200 and first.headers["ETag"].startswith('W/"')
    again = github_web.get(url, headers={**auth, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert _used(again) == _used(first)
    stale = github_web.get(url, headers={**auth, "If-None-Match": 'W/"something-else"'})
    assert stale.status_code == 200 and _used(stale) == _used(first) + 1


def test_a_change_gives_a_new_etag_and_a_full_counted_answer(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    auth = _auth(github_sim, world, "installation")
    branches = github_web.get("/api/v3/repos/alice/app/branches", headers=auth)
    github_sim.commit(world.private, "main", {"new.txt": "new"})
    changed = github_web.get(
        "/api/v3/repos/alice/app/branches",
        headers={**auth, "If-None-Match": branches.headers["ETag"]},
    )
    assert changed.status_code == 200
    assert changed.headers["ETag"] != branches.headers["ETag"]
    assert changed.json()[0]["commit"]["sha"] != branches.json()[0]["commit"]["sha"]
    assert _used(changed) == _used(branches) + 1
    listed = github_web.get("/api/v3/installation/repositories", headers=auth)
    github_sim.add_repo(world.alice, "third", private=True)
    relisted = github_web.get(
        "/api/v3/installation/repositories",
        headers={**auth, "If-None-Match": listed.headers["ETag"]},
    )
    assert relisted.status_code == 200 and relisted.json()["total_count"] == 3


def test_errors_carry_no_etag_and_a_spent_budget_still_refuses(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    auth = _auth(github_sim, world, "installation")
    missing = github_web.get("/api/v3/repos/alice/nope", headers=auth)
    assert missing.status_code == 404 and "ETag" not in missing.headers
    first = github_web.get("/api/v3/repos/alice/app", headers=auth)
    github_sim.rate_limits.set_limit("installation", 0)
    conditional = {**auth, "If-None-Match": first.headers["ETag"]}
    assert github_web.get("/api/v3/repos/alice/app", headers=conditional).status_code == 304
    refused = github_web.get("/api/v3/repos/alice/app", headers=auth)
    assert refused.status_code == 403 and "ETag" not in refused.headers
