"""Real clients against the simulator: githubkit's strict models, in-process ASGI use,
pluggable delivery transports, and request validation of a client's own traffic."""

from __future__ import annotations

import httpx
import pytest
from githubkit import AppAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.cache import MemCacheStrategy
from githubkit.webhooks import parse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.fakes.github import (
    GitHubSimulator,
    RecordingTransport,
    ServedSimulator,
    SpecRecorder,
    sign,
)
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.testkit import bearer, small_world


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _kit(
    served: ServedSimulator, auth: AppAuthStrategy | TokenAuthStrategy
) -> GitHub[AppAuthStrategy | TokenAuthStrategy]:
    return GitHub(
        auth,
        base_url=f"{served.base_url}/api/v3/",
        cache_strategy=MemCacheStrategy(),
        http_cache=False,
        auto_retry=False,
    )


def test_githubkit_parses_app_installation_and_repository_responses(
    github_sim: GitHubSimulator, github_served: ServedSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    app_kit = _kit(github_served, AppAuthStrategy(world.app.id, world.app.private_key_pem.decode()))
    assert app_kit.rest.apps.get_installation(world.installation.id).parsed_data.account is not None
    assert [i.id for i in app_kit.rest.apps.list_installations().parsed_data] == [
        world.installation.id
    ]
    inst_kit = app_kit.with_auth(app_kit.auth.as_installation(world.installation.id))
    repos = inst_kit.rest.apps.list_repos_accessible_to_installation().parsed_data
    assert sorted(r.name for r in repos.repositories) == ["app", "site"]
    repo = inst_kit.rest.repos.get("alice", "app").parsed_data
    assert repo.private is True and repo.default_branch == "main"
    branch = inst_kit.rest.repos.get_branch("alice", "app", "main").parsed_data
    commit = inst_kit.rest.repos.get_commit("alice", "app", branch.commit.sha).parsed_data
    assert commit.sha == branch.commit.sha
    hook = inst_kit.rest.repos.create_webhook(
        "alice",
        "app",
        config={"url": f"{webhook_receiver.url}/repo", "content_type": "json", "secret": "x"},
        events=["push"],
    ).parsed_data
    assert [h.id for h in inst_kit.rest.repos.list_webhooks("alice", "app").parsed_data] == [
        hook.id
    ]
    github_sim.commit(world.private, "main", {"n.txt": "n"})
    deliveries = app_kit.rest.apps.list_webhook_deliveries().parsed_data
    assert {d.event for d in deliveries} == {"installation", "push"}


def test_githubkit_parses_user_responses_and_webhook_payloads(
    github_sim: GitHubSimulator, github_served: ServedSimulator, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim, webhook_url=f"{webhook_receiver.url}/app")
    token, _ = github_sim.mint_user_token(world.app, world.alice)
    kit = _kit(github_served, TokenAuthStrategy(token.token))
    assert kit.rest.users.get_authenticated().parsed_data.login == "alice"
    installs = kit.rest.apps.list_installations_for_authenticated_user().parsed_data
    assert [i.id for i in installs.installations] == [world.installation.id]
    repos = list(
        kit.rest.paginate(
            kit.rest.apps.list_installation_repos_for_authenticated_user,
            installation_id=world.installation.id,
            map_func=lambda r: r.parsed_data.repositories,
        )
    )
    assert sorted(r.full_name for r in repos) == ["alice/app", "alice/site"]
    github_sim.commit(world.private, "main", {"n.txt": "n"})
    github_sim.deliveries.wait_idle()
    assert webhook_receiver.received
    for received in webhook_receiver.received:
        event = parse(received.event, received.body)
        assert event is not None


async def _asgi_receiver(received: list[bytes]) -> Starlette:
    async def hook(request: Request) -> PlainTextResponse:
        received.append(await request.body())
        return PlainTextResponse("ok", 204)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.mark.anyio
async def test_in_process_use_with_deferred_deliveries_to_an_asgi_app(tmp_path: object) -> None:
    recorder = SpecRecorder()
    sim = GitHubSimulator(recorder=recorder, deferred_deliveries=True)
    try:
        world = small_world(sim, webhook_url="http://nanoscale.test/hook")
        token = sim.mint_installation_token(world.installation).token
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sim.app), base_url=sim.state.base_url
        ) as client:
            repo = await client.get("/api/v3/repos/alice/app", headers=bearer(token))
            assert repo.status_code == 200 and repo.json()["id"] == world.private.id
        sim.commit(world.private, "main", {"a": "1"})
        received: list[bytes] = []
        sent = await sim.deliverer.aflush(httpx.ASGITransport(app=await _asgi_receiver(received)))
        assert [d.event for d in sent] == ["installation", "push"]
        assert [d.status_code for d in sent] == [204, 204] and len(received) == 2
        recorder.assert_clean()
    finally:
        sim.close()


def test_callable_delivery_transport_receives_signed_deliveries() -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []

    def deliver(url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str]:
        seen.append((url, headers, body))
        return 200, {}, "ok"

    sim = GitHubSimulator(delivery_transport=deliver)
    try:
        world = small_world(sim, webhook_url="http://nanoscale.test/hook")
        sim.commit(world.private, "main", {"a": "1"})
        assert sim.deliveries.wait_idle()
        url, headers, body = seen[-1]
        assert url == "http://nanoscale.test/hook" and headers["X-GitHub-Event"] == "push"
        assert headers["X-Hub-Signature-256"] == sign(world.app.webhook_secret, body)
        assert sim.state.deliveries[-1].status == "OK"
    finally:
        sim.close()


def test_recording_transport_flags_a_client_request_that_breaks_the_spec(
    github_sim: GitHubSimulator, github_served: ServedSimulator
) -> None:
    world = small_world(github_sim)
    client_side = SpecRecorder(check_requests=True, in_summary=False)  # fails on purpose
    transport = RecordingTransport(client_side)
    with httpx.Client(transport=transport, base_url=github_served.base_url) as client:
        path = f"/api/v3/app/installations/{world.installation.id}/access_tokens"
        good = client.post(
            path,
            headers=bearer(github_sim.app_jwt(world.app)),
            json={"repository_ids": [world.private.id]},
        )
        bad = client.post(
            path, headers=bearer(github_sim.app_jwt(world.app)), json={"repository_ids": "app"}
        )
    assert good.status_code == 201 and bad.status_code in (201, 422, 500)
    requests = [r for r in client_side.results if r.kind == "request"]
    assert [r.ok for r in requests] == [True, False]
    assert "repository_ids" in requests[1].errors[0]
