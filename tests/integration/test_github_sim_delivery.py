"""Webhook deliveries as GitHub sends them: one GUID per event, in the background, concurrently,
never retried, and not at all above 25 MB."""

from __future__ import annotations

import threading

import httpx

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.delivery import MAX_PAYLOAD_BYTES
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.testkit import small_world


def test_every_hook_receiving_one_event_gets_the_same_delivery_guid(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    other = github_sim.add_app(world.bob, "other-app", webhook_url=f"{webhook_receiver.url}/other")
    github_sim.install(other, world.alice)
    github_sim.add_hook(world.private, f"{webhook_receiver.url}/repo", secret="s")
    github_sim.commit(world.private, "main", {"a": "1"})
    github_sim.commit(world.private, "main", {"a": "2"})
    assert github_sim.deliveries.wait_idle()
    pushes = webhook_receiver.events("push")
    assert sorted(r.path for r in pushes) == ["/app", "/app", "/other", "/other", "/repo", "/repo"]
    by_guid: dict[str, set[str]] = {}
    for received in pushes:
        by_guid.setdefault(received.guid, set()).add(received.path)
    assert list(by_guid.values()) == [{"/app", "/other", "/repo"}] * 2
    hook_ids = {r.headers["X-GitHub-Hook-ID"] for r in pushes}
    assert len(hook_ids) == 3  # the same GUID, but each hook says who it is


def test_deliveries_leave_in_the_background_and_concurrently(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    github_sim.add_hook(world.private, f"{webhook_receiver.url}/repo")
    assert github_sim.deliveries.wait_idle()
    webhook_receiver.received.clear()
    webhook_receiver.hold = threading.Event()
    github_sim.commit(world.private, "main", {"a": "1"})  # returns although nobody has answered
    try:
        assert github_sim.deliveries.in_flight == 2
        # Both copies of the push are at the receivers while neither has been answered.
        assert len(webhook_receiver.wait_for(2, timeout=20)) == 2
        assert github_sim.deliveries.in_flight == 2
    finally:
        webhook_receiver.hold.set()
    assert github_sim.deliveries.wait_idle()
    assert [d.status for d in github_sim.state.deliveries[-2:]] == ["OK", "OK"]


def test_failed_delivery_is_not_retried(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    webhook_receiver.status = 503
    github_sim.commit(world.private, "main", {"a": "1"})
    assert github_sim.deliveries.wait_idle()
    assert len(webhook_receiver.events("push")) == 1
    assert github_sim.state.deliveries[-1].status == "Invalid HTTP Response: 503"
    assert github_sim.deliveries.faults.timeout == 10.0  # GitHub's wait for an answer


def test_payload_over_25_mb_is_not_delivered(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    # The message appears twice in a push payload (commits[] and head_commit).
    huge = "x" * (MAX_PAYLOAD_BYTES // 2 + 1024)
    github_sim.commit(world.private, "main", {"a": "1"}, message=huge)
    github_sim.commit(world.private, "main", {"a": "2"}, message="small")
    assert github_sim.deliveries.wait_idle()
    too_large, small = github_sim.state.deliveries[-2:]
    assert len(too_large.body) > MAX_PAYLOAD_BYTES and too_large.status == "payload too large"
    arrived = webhook_receiver.events("push")
    assert [r.guid for r in arrived] == [small.guid]


def test_control_api_waits_until_deliveries_settle(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    webhook_receiver.delay = 0.3
    github_web.post("/_sim/repos/alice/app/commit", json={"files": {"a": "1"}})
    settled = github_web.post("/_sim/deliveries/wait", json={"timeout": 30}).json()
    assert settled == {"idle": True, "in_flight": 0}
    assert len(webhook_receiver.events("push")) == 1


def test_an_answer_trickling_past_the_timeout_counts_as_timed_out(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    github_sim.deliveries.wait_idle()
    github_sim.deliveries.faults.timeout = 0.4  # GitHub's 10 s, scaled down
    webhook_receiver.trickle = 1.5  # every read is quick; the whole answer is not
    github_sim.commit(world.private, "main", {"a": "1"})
    assert github_sim.deliveries.wait_idle()
    assert github_sim.state.deliveries[-1].status == "timed out"
