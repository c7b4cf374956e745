"""Lifecycle events GitHub sends that the integration must react to: transfers reach the new
owner's installation, repository.created, new_permissions_accepted, authorization revoked."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.testkit import bearer, small_world


def _payloads(sim: GitHubSimulator, receiver: WebhookReceiver, event: str) -> list[Any]:
    sim.deliveries.wait_idle()
    return [json.loads(r.body) for r in receiver.events(event)]


def test_transfer_is_announced_to_the_new_owners_installation_only(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    org_inst = github_sim.install(world.app, world.org)
    github_sim.transfer_repo(world.private, world.org)
    (moved,) = [
        p
        for p in _payloads(github_sim, webhook_receiver, "repository")
        if p["action"] == "transferred"
    ]
    assert moved["installation"]["id"] == org_inst.id
    assert moved["repository"]["full_name"] == "acme/app"
    logged = [d.installation_id for d in github_sim.state.deliveries if d.event == "repository"]
    assert logged == [org_inst.id]


def test_creating_a_repository_reaches_all_repositories_installations(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    answer = github_web.post("/_sim/accounts/alice/repos", json={"name": "fresh", "private": True})
    assert answer.status_code == 200
    (created,) = _payloads(github_sim, webhook_receiver, "repository")
    assert created["action"] == "created" and created["repository"]["name"] == "fresh"
    assert created["installation"]["id"] == world.installation.id
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    assert github_web.get("/api/v3/repos/alice/fresh", headers=auth).status_code == 200
    github_sim.set_installation_repos(world.installation, [world.private])
    github_web.post("/_sim/accounts/alice/repos", json={"name": "unseen"})
    assert len(_payloads(github_sim, webhook_receiver, "repository")) == 1  # selected: nothing


def test_new_permissions_apply_once_the_account_accepts_them(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    wanted = {**world.app.permissions, "deployments": "write"}
    asked = github_web.post("/_sim/apps/nanoscale/permissions", json={"permissions": wanted})
    assert asked.status_code == 200
    jwt_auth = bearer(github_sim.app_jwt(world.app))
    mint = f"/api/v3/app/installations/{world.installation.id}/access_tokens"
    narrowed = {"permissions": {"deployments": "write"}}
    assert github_web.post(mint, headers=jwt_auth, json=narrowed).status_code == 422
    accepted = github_web.post(f"/_sim/installations/{world.installation.id}/accept-permissions")
    assert accepted.status_code == 200
    actions = [p["action"] for p in _payloads(github_sim, webhook_receiver, "installation")]
    assert "new_permissions_accepted" in actions
    assert github_web.post(mint, headers=jwt_auth, json=narrowed).status_code == 201
    got = github_web.get(f"/api/v3/app/installations/{world.installation.id}", headers=jwt_auth)
    assert got.json()["permissions"]["deployments"] == "write"


def test_a_user_revoking_the_app_is_announced_and_ends_their_tokens(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    token, _ = github_sim.mint_user_token(world.app, world.alice)
    assert github_web.post("/_sim/apps/nanoscale/revoke", json={"login": "alice"}).is_success
    (revoked,) = _payloads(github_sim, webhook_receiver, "github_app_authorization")
    assert revoked["action"] == "revoked" and revoked["sender"]["login"] == "alice"
    assert github_web.get("/api/v3/user", headers=bearer(token.token)).status_code == 401
