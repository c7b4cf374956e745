"""Wait until a fresh release answers HTTP with a status below 500, or give up."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import httpx

from nanoscale.errors import Cancelled, UserCodeError

FIRST_POLL_SECONDS = 0.02  # most apps listen within a few hundred ms: look early
MAX_POLL_SECONDS = 0.25


def wait_healthy(
    *,
    url: str,
    timeout: float,
    alive: Callable[[], bool],
    cancel: threading.Event,
    exit_code: Callable[[], int | None] = lambda: None,
) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    pause = FIRST_POLL_SECONDS
    with httpx.Client(timeout=2.0, follow_redirects=False, trust_env=False) as client:
        while time.monotonic() < deadline:
            if cancel.is_set():
                raise Cancelled("the deployment was cancelled")
            if not alive():
                raise UserCodeError(
                    f"the app {_ended(exit_code())} before answering its health check "
                    "(its output is at the end of the log)",
                    code="app_exited",
                )
            try:
                status = client.get(url).status_code
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            else:
                if status < 500:
                    return
                last = f"HTTP {status}"
            time.sleep(pause)
            pause = min(pause * 1.5, MAX_POLL_SECONDS)
    raise UserCodeError(
        f"the app did not answer its health check at {url} within {int(timeout)}s "
        f"(last result: {last}); it must listen on $PORT",
        code="health_check_failed",
    )


def _ended(code: int | None) -> str:
    if code is None:
        return "exited"
    if code < 0:
        return f"was killed by signal {-code} ({_signal_name(-code)})"
    return f"exited with code {code}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown signal"
