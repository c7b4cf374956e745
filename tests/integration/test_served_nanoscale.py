"""The served-NanoScale harness itself: a real `nanoscale serve` child process on the test's
database answers its health check, receives the simulator's deliveries over real HTTP and
records them, and survives kill -9 with a restart."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import select

from nanoscale.context import build_context
from nanoscale.db.engine import session_scope
from nanoscale.github import models as m
from nanoscale.settings import Settings
from tests.fakes.github import manifest_flow
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.support.github_app import WEBHOOK_SECRET, build_world, github_overrides
from tests.support.served_nanoscale import deliver_over_http, served_nanoscale


def test_served_nanoscale_answers_health_records_a_ping_and_restarts(
    make_settings: Callable[..., Settings],
    database_url: str,
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
    tmp_path: Path,
) -> None:
    world = build_world(github_sim)
    overrides = github_overrides(github_sim, github_served, world.app)
    settings = make_settings(database_url=database_url, **overrides)
    with served_nanoscale(settings, tmp_path / "serve") as server:
        assert httpx.get(f"{server.url}/api/health").status_code == 200
        # Secrets reach the child through its environment, never its command line.
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode()
        assert WEBHOOK_SECRET not in cmdline and "serve" in cmdline

        deliver_over_http(github_sim, world.app, server, WEBHOOK_SECRET)
        ping = github_sim.emit_app_event(
            world.app, "ping", manifest_flow._app_ping(github_sim.state, world.app)
        )
        assert ping is not None and github_sim.deliverer.wait_idle(30)
        assert ping.status_code == 200, (ping.status, ping.response_body, server.output())
        ctx = build_context(settings)
        try:
            with session_scope(ctx.sessions) as db:
                row = db.scalars(select(m.GitHubWebhookDelivery)).one()
                assert (row.delivery_id, row.event_type, row.source) == (ping.guid, "ping", "app")
                assert row.status_code == 200
        finally:
            ctx.close()

        assert server.kill(signal.SIGKILL) == -signal.SIGKILL
        server.restart()
        assert httpx.get(f"{server.url}/api/health").status_code == 200
