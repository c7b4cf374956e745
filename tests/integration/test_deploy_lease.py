"""The per-project lease: renewed while a long build runs (no other worker can take the
project), taken over once its holder stopped renewing it; build time limits and cancelling
queued work."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from nanoscale.db.engine import session_scope
from nanoscale.deployments.queue import lease
from nanoscale.deployments.queue.requests import cancel_deployment
from nanoscale.deployments.worker.loop import Worker
from nanoscale.engine.runtime import procfs
from tests.support.deploy import DeployHarness


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_heartbeat_keeps_the_lease_through_a_build_longer_than_the_lease(
    deploy: DeployHarness,
) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo, build_command="sleep 3")
    deployment_id = deploy.request(project, sha)
    one_second = deploy.ctx.settings.model_copy(update={"lease_seconds": 1.0})
    short = Worker(replace(deploy.ctx, settings=one_second), backends=deploy.worker.backends)
    runner = threading.Thread(target=short.run_once)
    runner.start()
    _wait_for(lambda: deploy.deployment(deployment_id).state == "building")
    other = Worker(deploy.ctx, backends=deploy.worker.backends)
    rival = repo.commit({"version.txt": "v2\n"})
    deploy.request(project, rival)

    stolen = []
    while runner.is_alive():  # for the whole 3 s build, well past the 1 s lease
        stolen.append(other.claim())
        time.sleep(0.2)
    runner.join()

    assert len(stolen) >= 5
    assert stolen == [None] * len(stolen)
    assert deploy.deployment(deployment_id).state == "live"


def test_an_expired_lease_of_a_silent_holder_is_taken_over(deploy: DeployHarness) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo)
    with session_scope(deploy.ctx.sessions) as session:
        assert lease.acquire(session, project_id=project.id, holder="elsewhere:1:x", seconds=0.5)
    deployment_id = deploy.request(project, sha)
    assert deploy.worker.claim() is None  # held by a live holder on another host

    time.sleep(0.6)
    claim = deploy.worker.claim()

    assert claim is not None and claim.deployment_id == deployment_id
    deploy.worker.runner.run(claim.deployment_id)
    assert deploy.deployment(deployment_id).state == "live"


def test_build_over_the_time_limit_is_killed_with_its_whole_group(deploy: DeployHarness) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo, build_command="sleep 60 & sleep 60")
    deploy.worker.pipeline.limits = replace(deploy.worker.pipeline.limits, build_timeout=1)
    deployment_id = deploy.request(project, sha)
    pgids: list[int] = []
    watcher = threading.Thread(
        target=lambda: _wait_for(lambda: bool(_record(deploy, deployment_id, pgids)))
    )
    watcher.start()
    deploy.run_until_idle()
    watcher.join()

    failed = deploy.deployment(deployment_id)
    assert (failed.state, failed.error_code) == ("failed", "build_timeout")
    assert failed.error_responsibility == "user"
    assert procfs.group_pids(pgids[0]) == []


def test_cancelling_a_queued_deployment_is_immediate_and_final(deploy: DeployHarness) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo)
    deployment_id = deploy.request(project, sha)

    with session_scope(deploy.ctx.sessions) as session:
        cancelled = cancel_deployment(session, deployment=deploy.deployment(deployment_id))
    assert cancelled.state == "cancelled"
    assert deploy.run_until_idle() == 0
    assert deploy.request(project, sha) != deployment_id  # a new request is not deduplicated


def _record(deploy: DeployHarness, deployment_id: str, into: list[int]) -> list[int]:
    pgid = deploy.deployment(deployment_id).build_pgid
    if pgid is not None:
        into.append(pgid)
    return into


def test_orchestrator_shutdown_mid_build_fails_the_deployment_and_frees_the_project(
    deploy: DeployHarness,
) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo, build_command="sleep 60 & sleep 60")
    deploy.worker.start()
    deployment_id = deploy.request(project, sha)
    _wait_for(lambda: deploy.deployment(deployment_id).build_pgid is not None)
    pgid = deploy.deployment(deployment_id).build_pgid
    assert pgid is not None

    deploy.worker.stop()

    stopped = deploy.deployment(deployment_id)
    assert (stopped.state, stopped.error_code) == ("failed", "orchestrator_stopped")
    assert stopped.error_responsibility == "platform"
    assert procfs.group_pids(pgid) == []
    with session_scope(deploy.ctx.sessions) as session:
        assert lease.current(session, project.id) is None
