"""Revoking user tokens through the OAuth applications API (Basic client credentials)."""

from __future__ import annotations

import json

import httpx

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.state import App
from tests.fakes.github.testkit import bearer, exchange, small_world


def _revoke(web: httpx.Client, app: App, what: str, token: str, secret: str | None = None) -> int:
    resp = web.request(
        "DELETE",
        f"/api/v3/applications/{app.client_id}/{what}",
        auth=(app.client_id, secret or app.client_secret),
        json={"access_token": token},
    )
    return resp.status_code


def _me(web: httpx.Client, token: str) -> int:
    return web.get("/api/v3/user", headers=bearer(token)).status_code


def test_deleting_a_token_revokes_only_that_token(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    first, _ = github_sim.mint_user_token(world.app, world.alice)
    second, _ = github_sim.mint_user_token(world.app, world.alice)
    assert _revoke(github_web, world.app, "token", first.token) == 204
    assert _me(github_web, first.token) == 401
    assert _me(github_web, second.token) == 200
    assert _revoke(github_web, world.app, "token", first.token) == 404


def test_revocation_needs_the_apps_own_client_credentials(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    other = github_sim.add_app(world.bob, "other-app")
    token, _ = github_sim.mint_user_token(world.app, world.alice)
    assert _revoke(github_web, world.app, "token", token.token, secret="wrong") == 401
    foreign = github_web.request(
        "DELETE",
        f"/api/v3/applications/{world.app.client_id}/token",
        auth=(other.client_id, other.client_secret),
        json={"access_token": token.token},
    )
    assert foreign.status_code == 404
    unauthenticated = github_web.request(
        "DELETE",
        f"/api/v3/applications/{world.app.client_id}/token",
        json={"access_token": token.token},
    )
    assert unauthenticated.status_code == 401
    missing = github_web.request(
        "DELETE",
        f"/api/v3/applications/{world.app.client_id}/token",
        auth=(world.app.client_id, world.app.client_secret),
        json={},
    )
    assert missing.status_code == 422
    assert _me(github_web, token.token) == 200


def test_deleting_the_grant_revokes_every_token_and_tells_the_app(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    first, _ = github_sim.mint_user_token(world.app, world.alice)
    second, refresh = github_sim.mint_user_token(world.app, world.alice)
    bobs, _ = github_sim.mint_user_token(world.app, world.bob)
    assert _revoke(github_web, world.app, "grant", first.token) == 204
    assert _me(github_web, first.token) == _me(github_web, second.token) == 401
    assert _me(github_web, bobs.token) == 200
    reused = exchange(
        github_web, world.app, grant_type="refresh_token", refresh_token=refresh.token
    )
    assert reused["error"] == "bad_refresh_token"
    github_sim.deliveries.wait_idle()
    (revoked,) = webhook_receiver.events("github_app_authorization", "/app")
    payload = json.loads(revoked.body)
    assert payload["action"] == "revoked" and payload["sender"]["login"] == "alice"
    assert "installation" not in payload


def test_checking_a_token_answers_its_authorization_until_revoked(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)
    token, _ = github_sim.mint_user_token(world.app, world.alice)
    url = f"/api/v3/applications/{world.app.client_id}/token"
    creds = (world.app.client_id, world.app.client_secret)
    checked = github_web.post(url, auth=creds, json={"access_token": token.token})
    assert checked.status_code == 200
    assert checked.json()["user"]["login"] == "alice"
    assert checked.json()["app"]["client_id"] == world.app.client_id
    assert _revoke(github_web, world.app, "token", token.token) == 204
    assert github_web.post(url, auth=creds, json={"access_token": token.token}).status_code == 404
