"""Cancelling a deployment while git fetches kills the transfer (git runs in its own session)
instead of letting it run to completion or to the fetch time limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nanoscale.db.engine import session_scope
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.queue.requests import cancel_deployment
from nanoscale.engine.runtime import procfs
from tests.support.deploy import DeployHarness
from tests.support.git_server import GitServer

SLOW_SECONDS = 60  # every answer of the git server waits this long


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _git_fetches(under: str) -> list[int]:
    return [
        pid
        for pid in (int(p.name) for p in procfs.PROC.iterdir() if p.name.isdigit())
        if procfs.cmdline(pid)[:1] == ["git"]
        and "fetch" in procfs.cmdline(pid)
        and under in " ".join(procfs.cmdline(pid))
    ]


def test_cancel_during_fetch_stops_git_and_cancels_the_deployment(
    deploy: DeployHarness, git_server: GitServer
) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo)
    deployment_id = deploy.request(project, sha)
    git_server.set_delay(SLOW_SECONDS)
    runner = threading.Thread(target=deploy.run_until_idle)
    runner.start()
    try:
        _wait_for(lambda: deploy.deployment(deployment_id).state == "fetching")
        _wait_for(lambda: bool(git_server.requests))  # the transfer is under way
        with session_scope(deploy.ctx.sessions) as session:
            cancel_deployment(session, deployment=session.get_one(Deployment, deployment_id))

        # Well under SLOW_SECONDS: only a killed transfer can end this soon.
        _wait_for(lambda: deploy.deployment(deployment_id).state == "cancelled", timeout=20)
    finally:
        runner.join(SLOW_SECONDS * 3)
        git_server.set_delay(0)
    assert not runner.is_alive()
    assert _git_fetches(str(deploy.ctx.settings.data_dir)) == []
