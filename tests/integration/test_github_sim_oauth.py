"""The simulator's OAuth web flow: PKCE, single-use codes, rotating refresh, 8-hour tokens."""

from __future__ import annotations

import httpx

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.testkit import (
    CALLBACK,
    Pkce,
    bearer,
    consent,
    exchange,
    form_fields,
    query_of,
    small_world,
)


def _login(sim: GitHubSimulator, web: httpx.Client) -> tuple[dict[str, str], Pkce, str]:
    world = small_world(sim)
    pkce = Pkce.new()
    back = consent(web, world.app, "alice", redirect_uri=CALLBACK, state="xyz", pkce=pkce)
    return back, pkce, world.app.client_id


def test_code_exchange_requires_the_matching_pkce_verifier(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    back, pkce, _ = _login(github_sim, github_web)
    app = next(iter(github_sim.state.apps.values()))
    wrong = exchange(github_web, app, code=back["code"], code_verifier=Pkce.new().verifier)
    assert wrong["error"] == "bad_verification_code" and "access_token" not in wrong
    right = exchange(github_web, app, code=back["code"], code_verifier=pkce.verifier)
    assert right["access_token"].startswith("ghu_")
    assert right["refresh_token"].startswith("ghr_") and right["token_type"] == "bearer"


def test_authorization_code_works_only_once(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    back, pkce, _ = _login(github_sim, github_web)
    app = next(iter(github_sim.state.apps.values()))
    assert "access_token" in exchange(
        github_web, app, code=back["code"], code_verifier=pkce.verifier
    )
    again = exchange(github_web, app, code=back["code"], code_verifier=pkce.verifier)
    assert again["error"] == "bad_verification_code"
    assert again["error_uri"].startswith("https://docs.github.com/")


def test_refresh_token_rotates_and_a_used_one_stops_working(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    back, pkce, _ = _login(github_sim, github_web)
    app = next(iter(github_sim.state.apps.values()))
    first = exchange(github_web, app, code=back["code"], code_verifier=pkce.verifier)
    second = exchange(
        github_web, app, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    reused = exchange(
        github_web, app, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert reused["error"] == "bad_refresh_token"
    third = exchange(
        github_web, app, grant_type="refresh_token", refresh_token=second["refresh_token"]
    )
    assert github_web.get("/api/v3/user", headers=bearer(third["access_token"])).status_code == 200


def test_refreshing_ends_the_previous_access_token(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    back, pkce, _ = _login(github_sim, github_web)
    app = next(iter(github_sim.state.apps.values()))
    first = exchange(github_web, app, code=back["code"], code_verifier=pkce.verifier)
    assert github_web.get("/api/v3/user", headers=bearer(first["access_token"])).status_code == 200
    second = exchange(
        github_web, app, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    old = github_web.get("/api/v3/user", headers=bearer(first["access_token"]))
    assert old.status_code == 401 and old.json()["message"] == "Bad credentials"
    assert github_web.get("/api/v3/user", headers=bearer(second["access_token"])).status_code == 200


def test_user_token_expires_after_eight_hours(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    back, pkce, _ = _login(github_sim, github_web)
    app = next(iter(github_sim.state.apps.values()))
    tokens = exchange(github_web, app, code=back["code"], code_verifier=pkce.verifier)
    assert tokens["expires_in"] == 8 * 3600
    github_sim.state.clock.advance(8 * 3600 - 60)
    assert github_web.get("/api/v3/user", headers=bearer(tokens["access_token"])).status_code == 200
    github_sim.state.clock.advance(61)
    expired = github_web.get("/api/v3/user", headers=bearer(tokens["access_token"]))
    assert expired.status_code == 401 and expired.json()["message"] == "Bad credentials"


def test_wrong_client_secret_is_refused(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    back, pkce, client_id = _login(github_sim, github_web)
    resp = github_web.post(
        "/login/oauth/access_token",
        data={
            "client_id": client_id,
            "client_secret": "nope",
            "code": back["code"],
            "code_verifier": pkce.verifier,
        },
    )
    # GitHub answers in form encoding unless JSON is asked for, and with status 200.
    assert resp.status_code == 200 and "error=incorrect_client_credentials" in resp.text


def test_cancel_on_consent_page_redirects_with_access_denied(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    page = github_web.get(
        "/login/oauth/authorize", params={"client_id": world.app.client_id, "state": "s"}
    )
    assert "Authorize" in page.text and 'name="decision"' in page.text
    answer = github_web.post(
        "/login/oauth/authorize",
        data=form_fields(page.text) | {"login": "alice", "decision": "cancel"},
    )
    assert answer.status_code == 302
    assert query_of(answer.headers["location"]) == {
        "error": "access_denied",
        "error_description": "The user has denied your application access.",
        "state": "s",
    }


def test_unregistered_redirect_uri_is_refused(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    params = {
        "client_id": world.app.client_id,
        "redirect_uri": "http://evil.example/cb",
        "state": "s",
    }
    answer = github_web.get("/login/oauth/authorize", params=params)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(CALLBACK) and query_of(location)["error"] == "redirect_uri_mismatch"


def test_user_sees_only_installations_they_can_reach(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    org_inst = github_sim.install(world.app, world.org)
    github_sim.add_repo(world.org, "internal", private=True)
    bob_token, _ = github_sim.mint_user_token(world.app, world.bob)
    listed = github_web.get("/api/v3/user/installations", headers=bearer(bob_token.token)).json()
    assert listed["total_count"] == 0
    path = f"/api/v3/user/installations/{org_inst.id}/repositories"
    assert github_web.get(path, headers=bearer(bob_token.token)).status_code == 404
    shared = github_sim.add_repo(world.org, "shared", private=True)
    github_sim.add_collaborator(shared, world.bob, "read")
    listed = github_web.get("/api/v3/user/installations", headers=bearer(bob_token.token)).json()
    assert [i["id"] for i in listed["installations"]] == [org_inst.id]
    repos = github_web.get(path, headers=bearer(bob_token.token)).json()["repositories"]
    assert [(r["name"], r["permissions"]["push"]) for r in repos] == [("shared", False)]
