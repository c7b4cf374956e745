"""Push-to-live overhead: time from `request_deployment` to the new release serving through
Caddy, minus the time spent inside fetch, build and the app's own start-up. Median over 10
redeploys of the trivial Node app, with the worker running in its thread as in production.

What remains is NanoScale's own cost: waking the worker, claiming, recording steps, picking a
port, the health-check poll interval, the Caddy route switch.

    .venv/bin/python bench/bench_push_to_live.py
"""

from __future__ import annotations

import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from nanoscale.crypto import generate_key
from nanoscale.db.engine import session_scope
from nanoscale.deployments.queue import lease
from nanoscale.engine.runtime.base import ReleaseHandle, ReleaseSpec, Runtime
from nanoscale.settings import load_settings
from tests.support.caddy import running_caddy
from tests.support.deploy import (
    DeployHarness,
    deploy_harness,
    deploy_settings_overrides,
    traversable_dir,
)
from tests.support.git_server import GitServer

REDEPLOYS = 10


class TimedRuntime:
    """Wraps the real runtime: records when each release was started and when its port
    first accepted a TCP connection (the app's own start-up time)."""

    def __init__(self, inner: Runtime) -> None:
        self.inner = inner
        self.started: dict[str, float] = {}
        self.ready: dict[str, float] = {}

    def start(self, spec: ReleaseSpec) -> ReleaseHandle:
        self.started[spec.deployment_id] = time.time()
        handle = self.inner.start(spec)
        threading.Thread(target=self._watch, args=(spec,), daemon=True).start()
        return handle

    def _watch(self, spec: ReleaseSpec) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", spec.port), timeout=0.05):
                    self.ready[spec.deployment_id] = time.time()
                    return
            except OSError:
                time.sleep(0.001)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _wait_serving(url: str, host: str, sha: str) -> float:
    with httpx.Client(headers={"Host": host}, timeout=5) as client:
        while True:
            try:
                if sha in client.get(url).text:
                    return time.time()
            except httpx.HTTPError:
                pass
            time.sleep(0.002)


def _lease_free(harness: DeployHarness, project_id: str) -> None:
    while True:
        with session_scope(harness.ctx.sessions) as session:
            if lease.current(session, project_id) is None:
                return
        time.sleep(0.01)


def main() -> None:
    with (
        traversable_dir("nanoscale-bench-") as root,
        GitServer(root / "git") as git,
        running_caddy() as caddy,
    ):
        settings = load_settings(
            secret_key=generate_key(),
            database_url=f"sqlite:///{root / 'nanoscale.db'}",
            **deploy_settings_overrides(root / "var", git),
            **caddy.settings_overrides(),
        )
        with deploy_harness(settings, git) as harness:
            timed = TimedRuntime(harness.worker.pipeline.runtime)
            harness.worker.pipeline.runtime = timed
            repo, sha = harness.repo("bench")
            project = harness.project(repo, name="bench")
            harness.request(project, sha)
            harness.run_until_idle()
            url, host = f"http://127.0.0.1:{caddy.http_port}/", "bench.localhost"
            harness.worker.start()
            rows = []
            try:
                for i in range(REDEPLOYS):
                    sha = repo.commit({"version.txt": f"r{i}\n"})
                    t0 = time.time()
                    deployment_id = harness.request(project, sha)
                    serving = _wait_serving(url, host, sha)
                    _lease_free(harness, project.id)
                    d = harness.deployment(deployment_id)
                    assert d.state == "live" and d.fetching_at and d.building_at and d.starting_at
                    fetch = d.building_at.timestamp() - d.fetching_at.timestamp()
                    build = d.starting_at.timestamp() - d.building_at.timestamp()
                    app = timed.ready[deployment_id] - timed.started[deployment_id]
                    total = serving - t0
                    rows.append((total, fetch, build, app, total - fetch - build - app))
            finally:
                harness.worker.stop()
    median = [statistics.median(col) for col in zip(*rows, strict=True)]
    print(f"redeploys of the trivial Node app through Caddy: {REDEPLOYS}")
    for name, value in zip(
        ("request -> serving", "inside fetch", "inside build", "app start-up", "overhead"),
        median,
        strict=True,
    ):
        print(f"  median {name:<20} {value * 1000:8.1f} ms")
    print(
        f"  overhead per redeploy (min..max): "
        f"{min(r[4] for r in rows) * 1000:.1f}..{max(r[4] for r in rows) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
