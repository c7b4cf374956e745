"""A build step that daemonizes (`setsid ... &`) leaves the build's process group but keeps the
build marker in its environment: no such process outlives a successful build, a build over
its time limit, a cancel, recovery after a lost orchestrator, or the project's deletion."""

from __future__ import annotations

import os
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from nanoscale.db.engine import session_scope
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.queue.requests import cancel_deployment
from nanoscale.deployments.worker.teardown import teardown_project
from nanoscale.engine.runtime import procfs
from nanoscale.engine.runtime.kill import BUILD_MARKER_VAR
from nanoscale.projects.models import Project
from tests.support.deploy import DeployHarness


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


class Daemon:
    """A build step that starts `sleep <unique>` in its own session and waits until it runs."""

    def __init__(self) -> None:
        self.seconds = str(900_000 + secrets.randbelow(99_999))

    def command(self, then: str = "true") -> str:
        return (
            f"setsid sh -c 'touch .daemon-started; exec sleep {self.seconds}' "
            f">/dev/null 2>&1 </dev/null & "
            f"while [ ! -e .daemon-started ]; do sleep 0.05; done; {then}"
        )

    def pids(self) -> list[int]:
        return [
            int(entry.name)
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit()
            and procfs.cmdline(int(entry.name)) == ["sleep", self.seconds]
            and procfs.is_alive(int(entry.name))
        ]


@pytest.fixture
def daemon() -> Iterator[Daemon]:
    started = Daemon()
    yield started
    for pid in started.pids():  # never leave one behind, even when the test fails
        os.kill(pid, 9)


def test_daemon_started_by_a_successful_build_does_not_survive_it(
    deploy: DeployHarness, daemon: Daemon
) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo, build_command=daemon.command())

    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()

    assert deploy.deployment(deployment_id).state == "live"
    assert "setsid" in deploy.log(deployment_id)
    assert daemon.pids() == []


def test_daemon_of_a_build_over_its_time_limit_is_killed(
    deploy: DeployHarness, daemon: Daemon
) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo, build_command=daemon.command(then="sleep 60"))
    deploy.worker.pipeline.limits = replace(deploy.worker.pipeline.limits, build_timeout=2)

    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()

    failed = deploy.deployment(deployment_id)
    assert (failed.state, failed.error_code) == ("failed", "build_timeout")
    assert daemon.pids() == []


def test_cancel_kills_the_daemon_of_a_running_build(deploy: DeployHarness, daemon: Daemon) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo, build_command=daemon.command(then="sleep 60"))
    deployment_id = deploy.request(project, sha)
    runner = threading.Thread(target=deploy.run_until_idle)
    runner.start()
    _wait_for(lambda: bool(daemon.pids()))
    escaped = daemon.pids()[0]
    assert procfs.environ_value(escaped, BUILD_MARKER_VAR) == deployment_id

    with session_scope(deploy.ctx.sessions) as session:
        cancel_deployment(session, deployment=session.get_one(Deployment, deployment_id))
    runner.join(60)

    assert deploy.deployment(deployment_id).state == "cancelled"
    assert daemon.pids() == []


def test_recovery_kills_the_escaped_processes_of_an_orphaned_build(
    deploy: DeployHarness, daemon: Daemon, tmp_path: Path
) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo)
    deployment_id = deploy.request(project, sha)
    claim = deploy.worker.claim()  # claimed, then its runner is gone (as after a crash)
    assert claim is not None and claim.deployment_id == deployment_id
    started = tmp_path / ".daemon-started"
    build = subprocess.Popen(  # what that build had started: its group and an escaped daemon
        ["/bin/sh", "-c", f"cd {tmp_path} && {daemon.command(then='sleep 60')}"],
        env={"PATH": os.environ["PATH"], BUILD_MARKER_VAR: deployment_id},
        start_new_session=True,
    )
    _wait_for(started.exists)
    with session_scope(deploy.ctx.sessions) as session:
        session.get_one(Deployment, deployment_id).build_pgid = build.pid

    assert deploy.worker.recover() == 1

    build.wait(10)
    assert deploy.deployment(deployment_id).state == "failed"
    assert procfs.group_pids(build.pid) == []
    assert daemon.pids() == []


def test_deleting_a_project_mid_build_leaves_no_build_process(
    deploy: DeployHarness, daemon: Daemon
) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo, build_command=daemon.command(then="sleep 60"))
    deployment_id = deploy.request(project, sha)
    deploy.worker.start()
    _wait_for(lambda: bool(daemon.pids()))

    with session_scope(deploy.ctx.sessions) as session:
        teardown_project(session, ctx=deploy.ctx, project=session.get_one(Project, project.id))
    deploy.worker.stop()

    assert deploy.deployment(deployment_id).state == "cancelled"
    assert daemon.pids() == []
