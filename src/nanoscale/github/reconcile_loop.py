"""The reconciler's background thread inside `nanoscale serve` (started by the app lifespan
when GitHub is configured and `github_reconcile_interval_seconds` > 0).

Several serve processes may share one database: the `reconciler` lease (`github_locks`)
lets one of them reconcile; it renews the lease before each link, and another process takes
over once a dead holder's lease expires. The first pass runs one interval after startup;
`stop()` ends the thread promptly (a pass in progress stops before its next link).
"""

from __future__ import annotations

import threading

from nanoscale.context import AppContext
from nanoscale.github import locks
from nanoscale.github.reconciler import PassReport, reconcile_pass
from nanoscale.logs import get_logger

log = get_logger("nanoscale.github.reconcile_loop")
LEASE_NAME = "reconciler"
COMPONENT = "github.reconciler"


class ReconcileLoop:
    def __init__(self, ctx: AppContext, *, interval: float) -> None:
        self.ctx, self.interval = ctx, interval
        self.holder = locks.new_holder()
        self.passes = 0  # passes this process ran (tests read it)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lease_seconds(self) -> float:
        return self.interval * 2 + 60

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="github-reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        locks.release(self.ctx, name=LEASE_NAME, holder=self.holder)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_once()

    def _keep_going(self) -> bool:
        if self._stop.is_set():
            return False
        return locks.try_acquire(self.ctx, name=LEASE_NAME, holder=self.holder,
                                 seconds=self.lease_seconds)  # fmt: skip

    def run_once(self) -> PassReport | None:
        """One pass if this process holds (or can take) the lease; None otherwise."""
        try:
            if not self._keep_going():
                return None
            report = reconcile_pass(self.ctx, keep_going=self._keep_going)
        except Exception:
            log.exception("github.reconcile.pass_failed")
            return None
        self.passes += 1
        return report


class _Off:
    def stop(self) -> None:
        return None


def start_reconciler(ctx: AppContext) -> ReconcileLoop | _Off:
    """The running loop, or a stand-in with `stop()` when GitHub is not configured or the
    interval is 0."""
    interval = ctx.settings.github_reconcile_interval_seconds
    if not ctx.settings.github_configured or interval <= 0:
        return _Off()
    loop = ReconcileLoop(ctx, interval=float(interval))
    loop.start()
    ctx.components[COMPONENT] = loop
    return loop
