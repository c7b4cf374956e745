"""Hook API semantics as GitHub's: secret removal on PATCH, duplicate and invalid hooks refused,
and the separate /config endpoints."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.fakes.github import GitHubSimulator, sign
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.testkit import World, bearer, small_world

HOOKS = "/api/v3/repos/alice/app/hooks"


def _setup(sim: GitHubSimulator) -> tuple[World, dict[str, str]]:
    world = small_world(sim)
    return world, bearer(sim.mint_installation_token(world.installation).token)


def _create(web: httpx.Client, auth: dict[str, str], url: str, **body: object) -> httpx.Response:
    config = {"url": url, "content_type": "json", "secret": "s3cret"}
    return web.post(HOOKS, headers=auth, json={"config": config, "events": ["push"], **body})


def _push_headers(sim: GitHubSimulator, world: World, receiver: WebhookReceiver) -> dict[str, str]:
    receiver.received.clear()
    sim.commit(world.private, "main", {"a": str(len(sim.state.deliveries))})
    sim.deliveries.wait_idle()
    (push,) = receiver.events("push")
    return push.headers


def test_patching_config_without_a_secret_removes_it(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world, auth = _setup(github_sim)
    url = f"{webhook_receiver.url}/repo"
    hook = _create(github_web, auth, url).json()
    kept = github_web.patch(f"{HOOKS}/{hook['id']}", headers=auth, json={"active": True})
    assert kept.json()["config"]["secret"] == "********"
    assert "X-Hub-Signature-256" in _push_headers(github_sim, world, webhook_receiver)
    patched = github_web.patch(
        f"{HOOKS}/{hook['id']}", headers=auth, json={"config": {"url": url, "content_type": "json"}}
    )
    assert patched.status_code == 200 and "secret" not in patched.json()["config"]
    assert "X-Hub-Signature-256" not in _push_headers(github_sim, world, webhook_receiver)


def test_a_second_hook_on_the_same_url_is_refused(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    _, auth = _setup(github_sim)
    assert _create(github_web, auth, "http://127.0.0.1:9/hook").status_code == 201
    again = _create(github_web, auth, "http://127.0.0.1:9/hook")
    assert again.status_code == 422
    assert again.json()["errors"][0]["message"] == "Hook already exists on this repository"
    other = _create(github_web, auth, "http://127.0.0.1:9/other").json()
    moved = github_web.patch(
        f"{HOOKS}/{other['id']}", headers=auth, json={"config": {"url": "http://127.0.0.1:9/hook"}}
    )
    assert moved.status_code == 422
    assert len(github_web.get(HOOKS, headers=auth).json()) == 2


@pytest.mark.parametrize(
    ("url", "events"),
    [
        ("http://127.0.0.1:9/ok", ["push", "not_an_event"]),
        ("http://127.0.0.1:9/ok", ["installation"]),  # an App-only event
        ("ftp://127.0.0.1/hook", ["push"]),
        ("not a url", ["push"]),
    ],
)
def test_invalid_events_or_urls_answer_422_and_create_nothing(
    github_sim: GitHubSimulator, github_web: httpx.Client, url: str, events: list[str]
) -> None:
    _, auth = _setup(github_sim)
    refused = _create(github_web, auth, url, events=events)
    assert refused.status_code == 422 and refused.json()["message"] == "Validation Failed"
    assert refused.json()["errors"][0]["resource"] == "Hook"
    assert github_web.get(HOOKS, headers=auth).json() == []


def test_config_endpoints_read_and_update_only_what_is_sent(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world, auth = _setup(github_sim)
    url = f"{webhook_receiver.url}/repo"
    hook_id = _create(github_web, auth, url).json()["id"]
    config_url = f"{HOOKS}/{hook_id}/config"
    config = github_web.get(config_url, headers=auth).json()
    assert config == {"content_type": "json", "insecure_ssl": "0", "url": url, "secret": "********"}
    updated = github_web.patch(config_url, headers=auth, json={"content_type": "form"})
    assert updated.json()["content_type"] == "form" and updated.json()["secret"] == "********"
    headers = _push_headers(github_sim, world, webhook_receiver)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    (push,) = webhook_receiver.events("push")
    assert headers["X-Hub-Signature-256"] == sign("s3cret", push.body)
    bad = github_web.patch(config_url, headers=auth, json={"url": "gopher://x"})
    assert bad.status_code == 422
    assert github_web.get(f"{HOOKS}/999/config", headers=auth).status_code == 404


def test_repository_hook_deliveries_page_by_cursor_and_filter_by_outcome(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world, auth = _setup(github_sim)
    hook_id = _create(github_web, auth, f"{webhook_receiver.url}/repo").json()["id"]
    for n in range(3):
        github_sim.deliveries.wait_idle()
        webhook_receiver.status = 500 if n == 1 else 200
        github_sim.commit(world.private, "main", {"a": str(n)})
    github_sim.deliveries.wait_idle()
    base = f"{HOOKS}/{hook_id}/deliveries"
    first = github_web.get(base, headers=auth, params={"per_page": 3})
    assert [d["event"] for d in first.json()] == ["push", "push", "push"]
    assert not re.search(r"[?&]page=", first.headers["Link"]) and "cursor=" in first.headers["Link"]
    rest = github_web.get(first.headers["Link"].split(">")[0].lstrip("<"), headers=auth).json()
    assert [d["event"] for d in rest] == ["ping"]
    failed = github_web.get(base, headers=auth, params={"status": "failure"}).json()
    assert [d["status_code"] for d in failed] == [500]


def test_deleting_a_hook_subscribed_to_meta_tells_that_hook(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    _, auth = _setup(github_sim)
    meta = _create(github_web, auth, f"{webhook_receiver.url}/meta", events=["push", "meta"])
    plain = _create(github_web, auth, f"{webhook_receiver.url}/plain")
    for hook in (meta.json(), plain.json()):
        assert github_web.delete(f"{HOOKS}/{hook['id']}", headers=auth).status_code == 204
    github_sim.deliveries.wait_idle()
    (deleted,) = webhook_receiver.events("meta")
    assert deleted.path == "/meta"
    assert deleted.headers["X-Hub-Signature-256"] == sign("s3cret", deleted.body)
    payload = json.loads(deleted.body)
    assert payload["action"] == "deleted" and payload["hook_id"] == meta.json()["id"]
