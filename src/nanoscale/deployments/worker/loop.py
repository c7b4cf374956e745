"""The deployment worker: claims queued deployments one project lease at a time and runs them.

`run_once()` does one unit of work (tests call it directly); `start()` runs it in a loop in
`worker_concurrency` daemon threads (the app lifespan does that when `worker_enabled`), so different
projects build in parallel. Each thread has its own lease holder id: the lease is re-entrant
for one holder, so threads sharing an id could run two deployments of one project at once.
On start the first thread repairs what a dead orchestrator left behind (`recovery`) before
any thread claims work (`claims`); it repeats the repair every few seconds.
"""

from __future__ import annotations

import threading
import time

from nanoscale.context import AppContext
from nanoscale.deployments.backends import Backends, backends_for
from nanoscale.deployments.queue import lease
from nanoscale.deployments.queue.wakeup import generation, wait_for_work, wake_workers
from nanoscale.deployments.worker import claims, recovery
from nanoscale.deployments.worker.claims import Claim
from nanoscale.deployments.worker.runner import Runner
from nanoscale.engine.isolation import tenant_policy
from nanoscale.engine.pipeline import Limits, Pipeline
from nanoscale.errors import PlatformError
from nanoscale.logs import get_logger
from nanoscale.projects import git_hosts

log = get_logger("nanoscale.deployments.worker.loop")
RECOVER_EVERY_SECONDS = 10.0
COMPONENT = "deploy_worker"  # where `start_worker` registers it in the app context
# A loop that has not looked for work for this long (and runs nothing) counts as stuck; it
# covers a slow recovery pass (proxy checks) on top of a few poll intervals.
HEARTBEAT_GRACE_SECONDS = 30.0


class Worker:
    def __init__(
        self,
        ctx: AppContext,
        *,
        backends: Backends | None = None,
        holder: str | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.backends = backends or backends_for(ctx)
        self.holder = holder or lease.new_holder_id()
        settings = ctx.settings
        self.pipeline = Pipeline(
            runtime=self.backends.runtime,
            proxy=self.backends.proxy,
            limits=Limits(
                fetch_timeout=settings.fetch_timeout_seconds,
                build_timeout=settings.build_timeout_seconds,
                health_timeout=settings.health_check_timeout_seconds,
                drain_seconds=settings.drain_seconds,
            ),
            url_allowed=git_hosts.url_checker(ctx.sessions, settings),
            policy=tenant_policy(settings),
        )
        self.runner = Runner(ctx.sessions, settings, ctx.keyring, self.pipeline, self.holder, ctx)
        # One runner (and lease holder id) per thread; the first is `run_once()`'s.
        self.runners = [self.runner] + [
            Runner(ctx.sessions, settings, ctx.keyring, self.pipeline, lease.new_holder_id(), ctx)
            for _ in range(max(1, concurrency or settings.worker_concurrency) - 1)
        ]
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._threads: list[threading.Thread] = []
        self.heartbeat_at: float | None = None  # time.monotonic() the loop last looked for work

    # -- units of work (the loop's steps; tests call them directly) ----------------------------

    def run_once(self, runner: Runner | None = None) -> bool:
        """Claim and run at most one deployment (as `runner`'s lease holder); True if one ran."""
        runner = runner or self.runner
        claim = self.claim(holder=runner.holder)
        if claim is None:
            return False
        runner.run(claim.deployment_id)
        return True

    def claim(self, *, holder: str | None = None) -> Claim | None:
        return claims.claim_next(
            self.ctx.sessions,
            holder=holder or self.holder,
            lease_seconds=self.ctx.settings.lease_seconds,
        )

    def recover(self) -> int:
        """Fail running deployments whose holder is gone; returns how many."""
        return recovery.recover(self.ctx, pipeline=self.pipeline, runners=self.runners)

    def restore_releases(self) -> None:
        """Re-adopt the live release of every project and re-install its route."""
        recovery.restore_releases(self.ctx, pipeline=self.pipeline, backends=self.backends)

    # -- the threads ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop in one thread per runner; the first repairs what a previous
        orchestrator left before any of them claims work."""
        self._threads = [
            threading.Thread(target=self._loop, args=(i,), name=f"ns-worker-{i}", daemon=True)
            for i in range(len(self.runners))
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        reason = PlatformError(
            "the orchestrator stopped during this deployment", code="orchestrator_stopped"
        )
        for runner in self.runners:
            runner.interrupt(reason)
        wake_workers()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def is_alive(self) -> bool:
        """Started, not stopping, every thread alive, and the loop either ticked within a few
        poll intervals or is running a deployment (a long build ticks nothing)."""
        threads = self._threads
        if self._stopping.is_set() or not threads or not all(t.is_alive() for t in threads):
            return False
        if any(runner.current for runner in self.runners):
            return True
        grace = max(3 * self.ctx.settings.worker_poll_seconds, HEARTBEAT_GRACE_SECONDS)
        beat = self.heartbeat_at
        return beat is not None and time.monotonic() - beat <= grace

    def _start_up(self) -> None:
        for step in (self.recover, self.restore_releases):
            try:
                step()
            except Exception:  # the loop must run even if, say, the proxy is down
                log.exception("deploy.startup_step_failed", step=step.__name__)

    def _loop(self, index: int) -> None:
        if index == 0:
            self._start_up()
            self._started.set()
        else:  # claim nothing before recovery has run
            while not self._started.wait(0.1) and not self._stopping.is_set():
                pass
        runner = self.runners[index]
        last_recover = time.monotonic()

        while not self._stopping.is_set():
            self.heartbeat_at = time.monotonic()
            seen = generation()
            try:
                ran = self.run_once(runner)
                if index == 0 and time.monotonic() - last_recover > RECOVER_EVERY_SECONDS:
                    self.recover()
                    self.backends.proxy.ensure_config()
                    last_recover = time.monotonic()
            except Exception:
                log.exception("deploy.worker_error")
                ran = False
            if not ran:
                wait_for_work(self.ctx.settings.worker_poll_seconds, since=seen)


def start_worker(ctx: AppContext) -> Worker:
    """Recover, re-adopt live releases, then run the loop in a thread (the app lifespan)."""
    worker = Worker(ctx)
    worker.start()
    ctx.components[COMPONENT] = worker
    return worker


def registered_worker(ctx: AppContext) -> Worker | None:
    """The worker `start_worker` started for this orchestrator, if any."""
    worker = ctx.components.get(COMPONENT)
    return worker if isinstance(worker, Worker) else None
