"""The overview's health panel reports real checks: the database answers, the deploy
worker's loop is alive; a stopped worker shows as not running."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from nanoscale.context import AppContext
from nanoscale.db.engine import make_engine
from nanoscale.deployments.worker.loop import Worker, registered_worker
from tests.support.api import fast_password_hashing, make_client, setup_admin

__all__ = ["fast_password_hashing", "make_client"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def health_row(page: str, name: str) -> str:
    match = re.search(rf"<dt>{name}</dt><dd>(.*?)</dd>", page, re.S)
    assert match, f"no {name} row in the health panel"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def wait_until_alive(worker: Worker) -> None:
    """Readiness, not speed: the loop ticks once recovery at start-up is done."""
    deadline = time.monotonic() + 30
    while not worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_overview_checks_the_database_and_reports_a_disabled_worker(client: TestClient) -> None:
    setup_admin(client)
    page = client.get("/")
    assert page.status_code == 200
    assert "database reachable" in health_row(page.text, "Orchestrator")
    assert health_row(page.text, "Deploy worker").startswith("none disabled")


def test_overview_reports_a_database_that_does_not_answer(
    client: TestClient, context: AppContext
) -> None:
    setup_admin(client)
    real = context.engine
    # Pages still read through the session factory; only the health check's engine is dead.
    context.engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    try:
        page = client.get("/")
        api = client.get("/api/health").json()
    finally:
        context.engine.dispose()
        context.engine = real
    assert page.status_code == 200
    assert health_row(page.text, "Orchestrator").startswith("unavailable")
    assert (api["status"], api["database"]) == ("degraded", "unavailable")


def test_a_running_worker_shows_running_and_a_stopped_one_not_running(
    make_client: Callable[..., TestClient],
) -> None:
    with make_client(worker_enabled=True, worker_poll_seconds=0.1) as client:
        setup_admin(client)
        worker = registered_worker(client.app.state.context)  # type: ignore[attr-defined]
        assert worker is not None
        wait_until_alive(worker)
        assert health_row(client.get("/").text, "Deploy worker").startswith("ok running")
        assert client.get("/api/health").json()["components"]["worker"]["state"] == "ok"

        worker.stop()

        row = health_row(client.get("/").text, "Deploy worker")
        assert row.startswith("not running"), row
        # The API reads the same checks: it no longer answers "ok" while deployments wait.
        api = client.get("/api/health").json()
        assert (api["status"], api["components"]["worker"]["state"]) == ("degraded", "not_running")
