"""In-process nudge from a committed request to the worker, so the first request of a burst
starts at once instead of at the next poll. Other processes fall back to polling."""

from __future__ import annotations

import threading

_event = threading.Event()


def wake_workers() -> None:
    _event.set()


def wait_for_work(timeout: float) -> bool:
    woke = _event.wait(timeout)
    _event.clear()
    return woke
