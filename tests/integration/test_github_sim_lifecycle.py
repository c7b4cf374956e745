"""Installation and repository lifecycle: each change emits GitHub's event and changes access."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fakes.github import GitHubSimulator, SimError
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.testkit import World, bearer, settled, small_world


def _world(sim: GitHubSimulator, receiver: WebhookReceiver) -> World:
    return small_world(sim, webhook_url=f"{receiver.url}/app")


def _last(sim: GitHubSimulator, receiver: WebhookReceiver, event: str) -> dict[str, object]:
    """The newest delivery of `event`, once every delivery has settled."""
    payload: dict[str, object] = json.loads(settled(sim, receiver, event)[-1].body)
    return payload


def test_installing_the_app_emits_installation_created(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = _world(github_sim, webhook_receiver)
    created = _last(github_sim, webhook_receiver, "installation")
    assert created["action"] == "created"
    assert created["installation"]["id"] == world.installation.id  # type: ignore[index]
    assert {r["name"] for r in created["repositories"]} == {"app", "site"}  # type: ignore[attr-defined]


def test_changing_selected_repositories_emits_added_and_removed(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = _world(github_sim, webhook_receiver)
    github_sim.set_installation_repos(world.installation, [world.private])
    removed = _last(github_sim, webhook_receiver, "installation_repositories")
    assert removed["action"] == "removed" and removed["repository_selection"] == "selected"
    assert [r["name"] for r in removed["repositories_removed"]] == ["site"]  # type: ignore[attr-defined]
    github_sim.set_installation_repos(world.installation, [world.private, world.public])
    added = _last(github_sim, webhook_receiver, "installation_repositories")
    assert [r["name"] for r in added["repositories_added"]] == ["site"]  # type: ignore[attr-defined]


def test_suspended_installation_gets_no_pushes_until_unsuspended(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = _world(github_sim, webhook_receiver)
    github_sim.suspend(world.installation)
    assert _last(github_sim, webhook_receiver, "installation")["action"] == "suspend"
    github_sim.commit(world.private, "main", {"a": "1"})
    github_sim.deliveries.wait_idle()
    assert webhook_receiver.events("push") == []
    github_sim.unsuspend(world.installation)
    assert _last(github_sim, webhook_receiver, "installation")["action"] == "unsuspend"
    github_sim.commit(world.private, "main", {"a": "2"})
    github_sim.deliveries.wait_idle()
    assert len(webhook_receiver.events("push")) == 1


def test_deleted_installation_revokes_its_tokens(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = _world(github_sim, webhook_receiver)
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    jwt_auth = bearer(github_sim.app_jwt(world.app))
    assert (
        github_web.delete(
            f"/api/v3/app/installations/{world.installation.id}", headers=jwt_auth
        ).status_code
        == 204
    )
    assert _last(github_sim, webhook_receiver, "installation")["action"] == "deleted"
    assert github_web.get("/api/v3/installation/repositories", headers=auth).status_code == 401
    assert (
        github_web.get(
            f"/api/v3/app/installations/{world.installation.id}", headers=jwt_auth
        ).status_code
        == 404
    )


def test_rename_emits_renamed_and_old_name_redirects_by_id(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = _world(github_sim, webhook_receiver)
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    github_sim.rename_repo(world.private, "app-renamed")
    renamed = _last(github_sim, webhook_receiver, "repository")
    assert renamed["action"] == "renamed"
    assert renamed["changes"] == {"repository": {"name": {"from": "app"}}}
    assert renamed["repository"]["id"] == world.private.id  # type: ignore[index]
    moved = github_web.get("/api/v3/repos/alice/app", headers=auth)
    assert moved.status_code == 301
    assert moved.headers["Location"].endswith(f"/repositories/{world.private.id}")
    by_id = github_web.get(moved.headers["Location"], headers=auth)
    assert by_id.json()["full_name"] == "alice/app-renamed"


def test_transfer_emits_transferred_with_the_previous_owner(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = _world(github_sim, webhook_receiver)
    org_inst = github_sim.install(world.app, world.org)
    github_sim.transfer_repo(world.private, world.org)
    moved = _last(github_sim, webhook_receiver, "repository")
    assert moved["action"] == "transferred"
    assert moved["changes"]["owner"]["from"]["user"]["login"] == "alice"  # type: ignore[index]
    assert world.private not in github_sim.state.installation_repos(world.installation)
    assert world.private in github_sim.state.installation_repos(org_inst)
    auth = bearer(github_sim.mint_installation_token(org_inst).token)
    assert github_web.get("/api/v3/repos/acme/app", headers=auth).status_code == 200


def test_archived_repository_refuses_pushes(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = _world(github_sim, webhook_receiver)
    github_sim.archive_repo(world.private)
    assert _last(github_sim, webhook_receiver, "repository")["action"] == "archived"
    with pytest.raises(SimError):
        github_sim.commit(world.private, "main", {"a": "1"})
    refused = github_web.post("/_sim/repos/alice/app/commit", json={"files": {"a": "1"}})
    assert refused.status_code == 422
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    assert github_web.get("/api/v3/repos/alice/app", headers=auth).json()["archived"] is True


def test_deleted_repository_emits_deleted_and_disappears(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = _world(github_sim, webhook_receiver)
    auth = bearer(github_sim.mint_installation_token(world.installation).token)
    github_web.post("/_sim/repos/alice/site/delete")
    assert _last(github_sim, webhook_receiver, "repository")["action"] == "deleted"
    assert github_web.get("/api/v3/repos/alice/site", headers=auth).status_code == 404
    listed = github_web.get("/api/v3/installation/repositories", headers=auth).json()
    assert [r["name"] for r in listed["repositories"]] == ["app"]


def test_making_a_repository_private_hides_it_from_anonymous_callers(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    _world(github_sim, webhook_receiver)
    assert github_web.get("/api/v3/repos/alice/site").status_code == 200
    github_web.post("/_sim/repos/alice/site/privatize")
    assert _last(github_sim, webhook_receiver, "repository")["action"] == "privatized"
    hidden = github_web.get("/api/v3/repos/alice/site")
    assert hidden.status_code == 404 and hidden.json()["message"] == "Not Found"


def test_app_gets_only_subscribed_events_while_a_wildcard_hook_gets_all(
    github_sim: GitHubSimulator, github_world: World, webhook_receiver: WebhookReceiver
) -> None:
    world = github_world
    world.app.webhook_url = f"{webhook_receiver.url}/app"
    world.app.events = ["push"]
    world.installation.events = ["push"]
    github_sim.add_hook(world.private, f"{webhook_receiver.url}/all", secret="s", events=["*"])
    github_sim.rename_repo(world.private, "renamed")
    github_sim.deliveries.wait_idle()
    assert [r.path for r in webhook_receiver.events("repository")] == ["/all"]
    github_sim.commit(world.private, "main", {"a": "1"})
    github_sim.deliveries.wait_idle()
    assert sorted(r.path for r in webhook_receiver.events("push")) == ["/all", "/app"]
