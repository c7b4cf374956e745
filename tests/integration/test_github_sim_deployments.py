"""Deployments and deployment statuses as the integration will use them."""

from __future__ import annotations

import json

import httpx

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.testkit import World, bearer, small_world

DEPLOYMENTS = "/api/v3/repos/alice/app/deployments"


def _world(sim: GitHubSimulator, webhook_url: str | None = None) -> tuple[World, dict[str, str]]:
    world = small_world(sim, webhook_url=webhook_url)
    for holder in (world.app, world.installation):
        holder.permissions |= {"deployments": "write", "statuses": "write"}
        holder.events += ["deployment", "deployment_status"]
    return world, bearer(sim.mint_installation_token(world.installation).token)


def _deploy(web: httpx.Client, auth: dict[str, str], **body: object) -> httpx.Response:
    return web.post(DEPLOYMENTS, headers=auth, json=body)


def test_deployment_with_statuses_round_trip_and_events(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world, auth = _world(github_sim, f"{webhook_receiver.url}/app")
    sha = github_sim.commit(world.private, "main", {"a": "1"})
    created = _deploy(
        github_web, auth, ref=sha, environment="production", auto_merge=False, required_contexts=[]
    )
    assert created.status_code == 201, created.text
    deployment = created.json()
    assert (deployment["sha"], deployment["environment"]) == (sha, "production")
    assert deployment["creator"]["login"] == "nanoscale[bot]"
    assert deployment["performed_via_github_app"]["slug"] == "nanoscale"
    statuses = f"{DEPLOYMENTS}/{deployment['id']}/statuses"
    running = github_web.post(statuses, headers=auth, json={"state": "in_progress"})
    assert running.status_code == 201
    live = {"state": "success", "environment_url": "https://app.example", "log_url": "https://l"}
    done = github_web.post(statuses, headers=auth, json=live).json()
    assert (done["environment_url"], done["log_url"], done["target_url"]) == (
        "https://app.example",
        "https://l",
        "https://l",
    )
    listed = github_web.get(statuses, headers=auth).json()
    assert [s["state"] for s in listed] == ["success", "in_progress"]
    one = github_web.get(f"{statuses}/{done['id']}", headers=auth)
    assert one.json()["id"] == done["id"]
    github_sim.deliveries.wait_idle()
    (event,) = webhook_receiver.events("deployment")
    assert json.loads(event.body)["deployment"]["id"] == deployment["id"]
    status_events = [json.loads(r.body) for r in webhook_receiver.events("deployment_status")]
    assert sorted(e["deployment_status"]["state"] for e in status_events) == [
        "in_progress",
        "success",
    ]


def test_failing_commit_statuses_block_a_deployment_unless_contexts_are_bypassed(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world, auth = _world(github_sim)
    sha = github_sim.commit(world.private, "main", {"a": "1"})
    failing = {"state": "failure", "context": "ci"}
    github_web.post(f"/api/v3/repos/alice/app/statuses/{sha}", headers=auth, json=failing)
    blocked = _deploy(github_web, auth, ref=sha, auto_merge=False)
    assert blocked.status_code == 409
    assert blocked.json()["errors"][0]["contexts"] == [{"context": "ci", "state": "failure"}]
    assert (
        _deploy(github_web, auth, ref=sha, auto_merge=False, required_contexts=["ci"]).status_code
        == 409
    )
    assert (
        _deploy(github_web, auth, ref=sha, auto_merge=False, required_contexts=[]).status_code
        == 201
    )
    assert github_web.get(DEPLOYMENTS, headers=auth).json()[0]["sha"] == sha


def test_filters_auto_inactive_and_deleting_only_inactive_deployments(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world, auth = _world(github_sim)
    sha = github_sim.commit(world.private, "main", {"a": "1"})
    first = _deploy(github_web, auth, ref=sha, environment="staging", required_contexts=[]).json()
    second = _deploy(github_web, auth, ref="main", environment="staging", required_contexts=[])
    other = _deploy(github_web, auth, ref=sha, environment="preview", required_contexts=[]).json()
    assert {
        d["id"]
        for d in github_web.get(DEPLOYMENTS, headers=auth, params={"environment": "staging"}).json()
    } == {first["id"], second.json()["id"]}
    assert [
        d["id"] for d in github_web.get(DEPLOYMENTS, headers=auth, params={"ref": "main"}).json()
    ] == [second.json()["id"]]
    success = {"state": "success"}
    github_web.post(f"{DEPLOYMENTS}/{first['id']}/statuses", headers=auth, json=success)
    github_web.post(f"{DEPLOYMENTS}/{second.json()['id']}/statuses", headers=auth, json=success)
    retired = github_web.get(f"{DEPLOYMENTS}/{first['id']}/statuses", headers=auth).json()
    assert [s["state"] for s in retired] == ["inactive", "success"]
    assert (
        github_web.delete(f"{DEPLOYMENTS}/{second.json()['id']}", headers=auth).status_code == 422
    )
    assert github_web.delete(f"{DEPLOYMENTS}/{first['id']}", headers=auth).status_code == 204
    assert (
        github_web.delete(f"{DEPLOYMENTS}/{other['id']}", headers=auth).status_code == 204
    )  # alone
    assert github_web.get(f"{DEPLOYMENTS}/{first['id']}", headers=auth).status_code == 404


def test_deployments_need_permission_a_known_ref_and_honour_auto_merge(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world, auth = _world(github_sim)
    narrowed = github_sim.mint_installation_token(
        world.installation, permissions={"contents": "read", "metadata": "read"}
    )
    refused = _deploy(github_web, bearer(narrowed.token), ref="main")
    assert refused.status_code == 403
    assert refused.json()["message"] == "Resource not accessible by integration"
    listing = github_web.get(DEPLOYMENTS, headers=bearer(narrowed.token))  # reading needs it too
    assert listing.status_code == 403
    assert listing.json()["message"] == "Resource not accessible by integration"
    assert _deploy(github_web, auth, ref="no-such-branch").status_code == 422
    github_sim.create_branch(world.private, "topic")
    github_sim.commit(world.private, "main", {"later": "1"})  # topic is now behind main
    assert _deploy(github_web, auth, ref="topic", required_contexts=[]).status_code == 409
    assert (
        _deploy(github_web, auth, ref="topic", auto_merge=False, required_contexts=[]).status_code
        == 201
    )
    assert _deploy(github_web, {}, ref="main").status_code == 404


def test_auto_inactive_can_be_turned_off_spares_production_and_descriptions_are_short(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    world, auth = _world(github_sim)
    sha = github_sim.commit(world.private, "main", {"a": "1"})

    def deployed(environment: str, **status: object) -> int:
        made = _deploy(github_web, auth, ref=sha, environment=environment, auto_merge=False,
                       required_contexts=[]).json()  # fmt: skip
        url = f"{DEPLOYMENTS}/{made['id']}/statuses"
        answer = github_web.post(url, headers=auth, json={"state": "success", **status})
        assert answer.status_code == 201, answer.text
        return int(made["id"])

    def states(deployment_id: int) -> list[str]:
        listed = github_web.get(f"{DEPLOYMENTS}/{deployment_id}/statuses", headers=auth).json()
        return [s["state"] for s in listed]

    kept = deployed("shop")
    deployed("shop", auto_inactive=False)
    assert states(kept) == ["success"]  # not retired when the new status says so
    production = deployed("production")
    deployed("production")
    assert states(production) == ["success"]  # production deployments are never auto-retired
    url = f"{DEPLOYMENTS}/{kept}/statuses"
    too_long = github_web.post(url, headers=auth, json={"state": "inactive",
                                                         "description": "x" * 141})  # fmt: skip
    assert too_long.status_code == 422, too_long.text
    assert states(kept) == ["success"]
