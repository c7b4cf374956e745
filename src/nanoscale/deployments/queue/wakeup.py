"""In-process nudge from a committed request to the workers, so the first request of a burst
starts at once instead of at the next poll. Other processes fall back to polling.

A generation counter rather than a cleared event: every worker thread sees every nudge, and a
nudge that arrives between a thread's last look for work and its wait is not lost (the thread
passes the generation it saw before looking)."""

from __future__ import annotations

import threading

_cond = threading.Condition()
_generation = 0


def wake_workers() -> None:
    global _generation  # noqa: PLW0603 - the one process-wide counter
    with _cond:
        _generation += 1
        _cond.notify_all()


def generation() -> int:
    with _cond:
        return _generation


def wait_for_work(timeout: float, *, since: int | None = None) -> bool:
    """Wait until a nudge newer than `since` (default: now) or the timeout; True if nudged."""
    with _cond:
        seen = _generation if since is None else since
        return _cond.wait_for(lambda: _generation != seen, timeout)
