"""Routing as GitHub's: exact redirect_uri matching for Apps, JSON 404s for unknown routes."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.testkit import CALLBACK, Pkce, bearer, consent, query_of, small_world


@pytest.mark.parametrize(
    "redirect_uri",
    [
        f"{CALLBACK}/deeper",  # a sub-path is fine for OAuth apps, not for GitHub Apps
        f"{CALLBACK}/../../elsewhere",
        f"{CALLBACK}?next=/admin",
        CALLBACK.replace(":9/", ":10/"),
        CALLBACK.upper(),
    ],
)
def test_redirect_uri_must_match_a_callback_url_exactly(
    github_sim: GitHubSimulator, github_web: httpx.Client, redirect_uri: str
) -> None:
    world = small_world(github_sim)
    params = {"client_id": world.app.client_id, "redirect_uri": redirect_uri, "state": "s"}
    answer = github_web.get("/login/oauth/authorize", params=params)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(f"{CALLBACK}?")
    assert query_of(location)["error"] == "redirect_uri_mismatch"
    forged = github_web.post(
        "/login/oauth/authorize",
        data={**params, "login": "alice", "decision": "authorize"},
    )
    assert forged.status_code == 400 and "code=" not in forged.headers.get("location", "")


def test_a_second_registered_callback_url_is_accepted(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    other = "http://127.0.0.1:9/other/callback"
    world.app.callback_urls.append(other)
    back = consent(github_web, world.app, "alice", redirect_uri=other, state="z", pkce=Pkce.new())
    assert back["state"] == "z" and back["code"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v3/no/such/route"),
        ("GET", "/api/v3/repos/alice/app/issues"),  # GitHub has it; the simulator does not
        ("DELETE", "/api/v3/user"),  # a served path with a method it does not take
        ("POST", "/api/v3/installation/repositories"),
    ],
)
def test_unknown_routes_answer_githubs_json_404(
    github_sim: GitHubSimulator, github_web: httpx.Client, method: str, path: str
) -> None:
    world = small_world(github_sim)
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    answer = github_web.request(method, path, headers=auth)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["message"] == "Not Found"
    assert answer.json()["documentation_url"].startswith("https://docs.github.com/")
    assert "X-RateLimit-Remaining" in answer.headers
