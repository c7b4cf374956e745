"""Waiting for a test's own HTTP server or release to answer (loopback only)."""

from __future__ import annotations

import time

import httpx


def wait_for_http(port: int, *, path: str = "/", timeout: float = 30.0) -> bool:
    """True once `GET path` answers with a status below 500, False after the timeout."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"http://127.0.0.1:{port}{path}").status_code < 500:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    return False
