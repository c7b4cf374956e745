"""Repository webhooks over REST, deliveries, signatures, the delivery log and redelivery."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from tests.fakes.github import GitHubSimulator, sign
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.testkit import World, bearer, small_world


def _hook(
    web: httpx.Client, auth: dict[str, str], url: str, secret: str = "s3cret", **extra: object
) -> httpx.Response:
    body = {
        "config": {"url": url, "content_type": "json", "secret": secret},
        "events": ["push"],
        **extra,
    }
    return web.post("/api/v3/repos/alice/app/hooks", headers=auth, json=body)


def _setup(sim: GitHubSimulator, receiver: WebhookReceiver) -> tuple[World, dict[str, str]]:
    world = small_world(sim, webhook_url=f"{receiver.url}/app")
    return world, bearer(sim.mint_installation_token(world.installation).token)


def test_signature_helper_matches_githubs_documented_vector() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected


def test_hook_crud_round_trip_never_echoes_the_secret(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    _, auth = _setup(github_sim, webhook_receiver)
    created = _hook(github_web, auth, f"{webhook_receiver.url}/repo")
    assert created.status_code == 201
    hook = created.json()
    assert hook["config"]["secret"] == "********" and "s3cret" not in created.text
    url = f"/api/v3/repos/alice/app/hooks/{hook['id']}"
    patched = github_web.patch(
        url, headers=auth, json={"add_events": ["repository"], "active": False}
    )
    assert patched.json()["events"] == ["push", "repository"] and patched.json()["active"] is False
    assert [
        h["id"] for h in github_web.get("/api/v3/repos/alice/app/hooks", headers=auth).json()
    ] == [hook["id"]]
    assert github_web.delete(url, headers=auth).status_code == 204
    assert github_web.get(url, headers=auth).status_code == 404


def test_creating_a_hook_sends_a_signed_ping(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    _, auth = _setup(github_sim, webhook_receiver)
    hook = _hook(github_web, auth, f"{webhook_receiver.url}/repo").json()
    github_sim.deliveries.wait_idle()
    (ping,) = webhook_receiver.events("ping", "/repo")
    assert json.loads(ping.body)["hook_id"] == hook["id"]
    assert ping.headers["X-Hub-Signature-256"] == sign("s3cret", ping.body)
    assert (
        ping.headers["X-Hub-Signature"]
        == "sha1=" + hmac.new(b"s3cret", ping.body, hashlib.sha1).hexdigest()
    )
    assert ping.headers["User-Agent"].startswith("GitHub-Hookshot/")
    assert ping.headers["X-GitHub-Hook-Installation-Target-Type"] == "repository"
    url = f"/api/v3/repos/alice/app/hooks/{hook['id']}/pings"
    assert github_web.post(url, headers=auth).status_code == 204
    github_sim.deliveries.wait_idle()
    assert len(webhook_receiver.events("ping", "/repo")) == 2


def test_hooks_need_the_webhooks_permission(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world, _ = _setup(github_sim, webhook_receiver)
    read_only = github_sim.mint_installation_token(
        world.installation, permissions={"contents": "read", "metadata": "read"}
    )
    refused = _hook(github_web, bearer(read_only.token), f"{webhook_receiver.url}/repo")
    assert refused.status_code == 403
    assert refused.json()["message"] == "Resource not accessible by integration"
    assert (
        github_web.get("/api/v3/repos/alice/app/hooks", headers=bearer(read_only.token)).status_code
        == 403
    )


def test_hooks_are_hidden_from_users_without_admin(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world, _ = _setup(github_sim, webhook_receiver)
    github_sim.add_collaborator(world.private, world.bob, "write")
    bob_token, _ = github_sim.mint_user_token(world.app, world.bob)
    assert (
        github_web.get("/api/v3/repos/alice/app", headers=bearer(bob_token.token)).status_code
        == 200
    )
    assert (
        github_web.get("/api/v3/repos/alice/app/hooks", headers=bearer(bob_token.token)).status_code
        == 404
    )
    alice_token, _ = github_sim.mint_user_token(world.app, world.alice)
    assert (
        _hook(github_web, bearer(alice_token.token), f"{webhook_receiver.url}/repo").status_code
        == 201
    )


def test_push_reaches_only_active_hooks_subscribed_to_push(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world, auth = _setup(github_sim, webhook_receiver)
    _hook(github_web, auth, f"{webhook_receiver.url}/one", secret="one")
    _hook(github_web, auth, f"{webhook_receiver.url}/two", secret="two", active=False)
    body = {"config": {"url": f"{webhook_receiver.url}/three"}, "events": ["repository"]}
    github_web.post("/api/v3/repos/alice/app/hooks", headers=auth, json=body)
    github_sim.commit(world.private, "main", {"x.txt": "x"})
    github_sim.deliveries.wait_idle()
    assert {r.path for r in webhook_receiver.events("push")} == {"/app", "/one"}
    (one,) = webhook_receiver.events("push", "/one")
    assert one.headers["X-Hub-Signature-256"] == sign("one", one.body)


def test_form_content_type_hook_gets_a_signed_form_body(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world, auth = _setup(github_sim, webhook_receiver)
    body = {
        "config": {"url": f"{webhook_receiver.url}/form", "content_type": "form", "secret": "f"},
        "events": ["push"],
    }
    assert (
        github_web.post("/api/v3/repos/alice/app/hooks", headers=auth, json=body).status_code == 201
    )
    github_sim.commit(world.private, "main", {"x.txt": "x"})
    github_sim.deliveries.wait_idle()
    (form,) = webhook_receiver.events("push", "/form")
    assert form.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form.body.startswith(b"payload=") and form.headers["X-Hub-Signature-256"] == sign(
        "f", form.body
    )


def test_repo_hook_delivery_log_and_redelivery_keep_the_guid(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world, auth = _setup(github_sim, webhook_receiver)
    hook_id = _hook(github_web, auth, f"{webhook_receiver.url}/repo").json()["id"]
    github_sim.deliveries.wait_idle()
    webhook_receiver.status = 500
    github_sim.commit(world.private, "main", {"x.txt": "x"})
    github_sim.deliveries.wait_idle()
    base = f"/api/v3/repos/alice/app/hooks/{hook_id}/deliveries"
    log = github_web.get(base, headers=auth).json()
    assert [(d["event"], d["status_code"]) for d in log] == [("push", 500), ("ping", 202)]
    assert log[0]["status"] == "Invalid HTTP Response: 500"
    detail = github_web.get(f"{base}/{log[0]['id']}", headers=auth).json()
    assert detail["request"]["headers"]["X-GitHub-Event"] == "push"
    assert (
        detail["request"]["payload"]["after"] == detail["request"]["payload"]["head_commit"]["id"]
    )
    webhook_receiver.status = 200
    assert github_web.post(f"{base}/{log[0]['id']}/attempts", headers=auth).status_code == 202
    github_sim.deliveries.wait_idle()
    first, second = webhook_receiver.events("push", "/repo")
    assert first.guid == second.guid and first.body == second.body
    newest = github_web.get(base, headers=auth).json()[0]
    assert (
        newest["redelivery"] is True
        and newest["status_code"] == 200
        and newest["guid"] == first.guid
    )


def test_dropped_delivery_is_logged_and_can_be_redelivered(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world, _ = _setup(github_sim, webhook_receiver)
    github_sim.deliverer.faults.drop_next = 1
    github_sim.commit(world.private, "main", {"x.txt": "x"})
    github_sim.deliveries.wait_idle()
    assert webhook_receiver.events("push") == []
    jwt_auth = bearer(github_sim.app_jwt(world.app))
    dropped = github_web.get("/api/v3/app/hook/deliveries", headers=jwt_auth).json()[0]
    assert dropped["event"] == "push" and dropped["status_code"] == 0
    github_web.post(f"/api/v3/app/hook/deliveries/{dropped['id']}/attempts", headers=jwt_auth)
    github_sim.deliveries.wait_idle()
    (arrived,) = webhook_receiver.events("push")
    assert arrived.guid == dropped["guid"]
    detail = github_web.get(f"/api/v3/app/hook/deliveries/{dropped['id']}", headers=jwt_auth).json()
    assert (
        detail["guid"] == dropped["guid"]
        and detail["request"]["payload"]["ref"] == "refs/heads/main"
    )


def test_slow_receiver_is_recorded_as_timed_out(
    github_sim: GitHubSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url="http://127.0.0.1:9/unreachable")
    github_sim.commit(world.private, "main", {"x.txt": "x"})
    github_sim.deliveries.wait_idle()
    assert github_sim.state.deliveries[-1].status == "failed to connect to host"
    github_sim.deliverer.faults.timeout = 0.2
    world.app.webhook_url = f"{webhook_receiver.url}/slow"
    webhook_receiver.delay = 1.0
    github_sim.commit(world.private, "main", {"y.txt": "y"})
    github_sim.deliveries.wait_idle()
    assert github_sim.state.deliveries[-1].status == "timed out"


def test_hook_last_response_reflects_the_latest_delivery(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world, auth = _setup(github_sim, webhook_receiver)
    hook_id = _hook(github_web, auth, f"{webhook_receiver.url}/repo").json()["id"]
    url = f"/api/v3/repos/alice/app/hooks/{hook_id}"
    github_sim.deliveries.wait_idle()
    assert github_web.get(url, headers=auth).json()["last_response"]["code"] == 202
    webhook_receiver.status = 500
    github_sim.commit(world.private, "main", {"x.txt": "x"})
    github_sim.deliveries.wait_idle()
    last = github_web.get(url, headers=auth).json()["last_response"]
    assert last == {"code": 500, "status": "failed", "message": "Invalid HTTP Response: 500"}
