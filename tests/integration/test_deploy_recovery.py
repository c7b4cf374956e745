"""A real orchestrator process (`nanoscale serve`) killed with SIGKILL in the middle of a build:
after a restart no lease is stuck, the interrupted deployment is failed, its build processes
are gone, queued work runs, and the previous release served all along."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from nanoscale.db.engine import session_scope
from nanoscale.deployments.queue import lease
from nanoscale.engine.runtime import procfs
from tests.support.deploy import DeployHarness
from tests.support.ports import free_port

NANOSCALE = str(Path(sys.executable).parent / "nanoscale")


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@contextmanager
def orchestrator(deploy: DeployHarness, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    settings = deploy.ctx.settings
    assert settings.secret_key is not None
    env = {
        "PATH": os.environ["PATH"],
        "NANOSCALE_DATA_DIR": str(settings.data_dir),
        "NANOSCALE_DATABASE_URL": settings.resolved_database_url,
        "NANOSCALE_SECRET_KEY": settings.secret_key.get_secret_value(),
        "NANOSCALE_PORT": str(free_port()),
        "NANOSCALE_PROXY": "none",  # no Caddy of its own (the default) in this test
        "NANOSCALE_GIT_ALLOWED_HOSTS": ",".join(settings.git_allowed_hosts),
        "NANOSCALE_WORKER_POLL_SECONDS": "0.1",
        "NANOSCALE_LEASE_SECONDS": "30",  # long: recovery must not wait for expiry
        "NANOSCALE_DRAIN_SECONDS": "0.1",
        "NANOSCALE_PORT_RANGE_START": str(settings.port_range_start),  # this xdist worker's
        "NANOSCALE_PORT_RANGE_END": str(settings.port_range_end),
    }
    with log.open("ab") as out:
        proc = subprocess.Popen([NANOSCALE, "serve"], env=env, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)


def _served(port: int | None) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text


def test_kill_9_mid_build_then_restart_recovers_and_runs_queued_work(
    deploy: DeployHarness, tmp_path: Path
) -> None:
    repo, v1 = deploy.repo("web")
    project = deploy.project(repo, build_command="sh build.sh")
    repo.commit({"build.sh": "echo quick\n"})
    v1 = repo.head()
    v2 = repo.commit({"build.sh": "echo slow; sleep 60 & sleep 60\n", "version.txt": "v2\n"})
    v3 = repo.commit({"build.sh": "echo quick\n", "version.txt": "v3\n"})
    log = tmp_path / "orchestrator.log"
    deploy.worker.backends.close()  # the subprocess is the only orchestrator here

    with orchestrator(deploy, log) as first:
        live_id = deploy.request(project, v1)
        _wait_for(lambda: deploy.deployment(live_id).state == "live")
        live_port = deploy.deployment(live_id).release_port
        stuck_id = deploy.request(project, v2)
        _wait_for(lambda: deploy.deployment(stuck_id).build_pgid is not None)
        build_pgid = deploy.deployment(stuck_id).build_pgid
        assert build_pgid is not None
        queued_id = deploy.request(project, v3)
        first.send_signal(signal.SIGKILL)
        first.wait(10)

    # A sandboxed build dies with the orchestrator that ran it (bwrap --die-with-parent);
    # an unsandboxed one is orphaned until recovery kills it. None is left after recovery.
    if deploy.worker.pipeline.policy.sandbox is None:
        assert procfs.group_pids(build_pgid), "the orphaned build outlives its orchestrator"
    assert deploy.deployment(queued_id).state == "queued"
    assert _served(live_port) == f"v1 {v1}\n"

    with orchestrator(deploy, log):
        _wait_for(lambda: deploy.deployment(queued_id).state == "live", timeout=60)
        stuck = deploy.deployment(stuck_id)
        assert stuck.state == "failed"
        assert stuck.error_code == "orchestrator_lost"
        assert stuck.error_responsibility == "platform"
        assert not procfs.group_pids(build_pgid)
        assert _served(deploy.deployment(queued_id).release_port) == f"v3 {v3}\n"
        _wait_for(lambda: _lease_free(deploy, project.id))
    _kill_releases(deploy, [live_id, queued_id])
    assert "Traceback" not in log.read_text()


def _lease_free(deploy: DeployHarness, project_id: str) -> bool:
    with session_scope(deploy.ctx.sessions) as session:
        return lease.current(session, project_id) is None


def _kill_releases(deploy: DeployHarness, deployment_ids: list[str]) -> None:
    """The orchestrator leaves releases running on shutdown (by design); end them here."""
    for deployment_id in deployment_ids:
        for pid in procfs.marked_pids(deployment_id):
            with contextlib.suppress(ProcessLookupError):  # gone with its sandbox
                os.kill(pid, signal.SIGKILL)
        _wait_for(lambda: not procfs.marked_pids(deployment_id))  # noqa: B023
