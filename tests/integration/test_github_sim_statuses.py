"""Commit statuses: created by the App's bot, combined per context, announced as `status`."""

from __future__ import annotations

import json
from dataclasses import replace

import httpx

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.testkit import World, bearer, small_world


def _world(sim: GitHubSimulator, webhook_url: str | None = None) -> World:
    world = small_world(sim, webhook_url=webhook_url)
    for holder in (world.app, world.installation):
        holder.permissions["statuses"] = "write"
        holder.events.append("status")
    return world


def _post(
    web: httpx.Client, auth: dict[str, str], sha: str, state: str, context: str
) -> httpx.Response:
    body = {"state": state, "context": context, "target_url": "https://ci.example/1"}
    return web.post(f"/api/v3/repos/alice/app/statuses/{sha}", headers=auth, json=body)


def test_combined_status_takes_the_latest_status_of_each_context(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = _world(github_sim)
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    sha = github_sim.commit(world.private, "main", {"a": "1"})
    combined = f"/api/v3/repos/alice/app/commits/{sha}/status"
    empty = github_web.get(combined, headers=auth).json()
    assert (empty["state"], empty["total_count"]) == ("pending", 0)
    created = _post(github_web, auth, sha, "pending", "ci/a")
    assert created.status_code == 201
    assert created.json()["creator"]["login"] == "nanoscale[bot]"
    assert created.json()["creator"]["type"] == "Bot"
    _post(github_web, auth, sha, "success", "ci/b")
    assert github_web.get(combined, headers=auth).json()["state"] == "pending"
    _post(github_web, auth, sha, "success", "ci/a")
    by_branch = github_web.get("/api/v3/repos/alice/app/commits/main/status", headers=auth).json()
    assert (by_branch["state"], by_branch["total_count"], by_branch["sha"]) == ("success", 2, sha)
    _post(github_web, auth, sha, "failure", "ci/b")
    assert github_web.get(combined, headers=auth).json()["state"] == "failure"
    listed = github_web.get(f"/api/v3/repos/alice/app/commits/{sha}/statuses", headers=auth)
    assert [s["state"] for s in listed.json()] == ["failure", "success", "success", "pending"]


def test_creating_a_status_needs_the_statuses_permission_and_a_real_commit(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)  # the App has no statuses permission
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    sha = github_sim.commit(world.private, "main", {"a": "1"})
    assert _post(github_web, auth, sha, "success", "ci").status_code == 403
    world.installation.permissions["statuses"] = "write"
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    assert _post(github_web, auth, "0" * 40, "success", "ci").status_code == 422
    assert _post(github_web, auth, sha, "great", "ci").status_code == 422
    assert _post(github_web, {}, sha, "success", "ci").status_code == 404  # private: hidden
    github_sim.add_collaborator(world.private, world.bob, "read")
    reader = bearer(github_sim.mint_user_token(world.app, world.bob)[0].token)
    assert _post(github_web, reader, sha, "success", "ci").status_code == 403
    assert _post(github_web, auth, sha, "success", "ci").status_code == 201
    assert github_web.get(f"/api/v3/repos/alice/app/commits/{sha}/status").status_code == 404


def test_reading_statuses_without_the_permission_is_not_accessible_by_integration(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = small_world(github_sim)  # the App has no statuses permission
    sha = github_sim.commit(world.private, "main", {"a": "1"})
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    for path in (f"commits/{sha}/status", f"commits/{sha}/statuses"):
        refused = github_web.get(f"/api/v3/repos/alice/app/{path}", headers=auth)
        assert refused.status_code == 403, refused.text
        assert refused.json()["message"] == "Resource not accessible by integration"


def test_a_sha_and_context_take_at_most_1000_statuses(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world = _world(github_sim)
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    sha = github_sim.commit(world.private, "main", {"a": "1"})
    assert _post(github_web, auth, sha, "pending", "ci/full").status_code == 201
    (first,) = github_sim.state.commit_statuses
    github_sim.state.commit_statuses += [replace(first, id=first.id + n) for n in range(1, 1000)]
    refused = _post(github_web, auth, sha, "success", "ci/full")
    assert refused.status_code == 422, refused.text
    assert "maximum number of statuses" in refused.json()["errors"][0]["message"]
    assert _post(github_web, auth, sha, "success", "ci/other").status_code == 201


def test_a_new_status_is_announced_as_a_status_event(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = _world(github_sim, f"{webhook_receiver.url}/app")
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    sha = github_sim.commit(world.private, "main", {"a": "1"})
    _post(github_web, auth, sha, "success", "nanoscale/deploy")
    github_sim.deliveries.wait_idle()
    (event,) = webhook_receiver.events("status")
    payload = json.loads(event.body)
    assert (payload["sha"], payload["state"], payload["context"]) == (
        sha,
        "success",
        "nanoscale/deploy",
    )
    assert [b["name"] for b in payload["branches"]] == ["main"]
    assert payload["installation"]["id"] == world.installation.id
