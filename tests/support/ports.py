"""Loopback ports for the servers tests start (PostgreSQL, Caddy, `nanoscale serve`, ...).

A port picked now and bound later (Caddy binds its HTTP port only at the first config load) can
be taken meanwhile by any socket bound to port 0 — and the kernel hands those out from its
ephemeral range, to every pytest-xdist worker and child process alike. So ports come from above
that range, from a block of their own per worker, and each pick moves on through the block."""

from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path

TOP = 65535


def _ephemeral_end() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 60999  # Linux's default


def _worker_block() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    count = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    first = _ephemeral_end() + 1
    size = (TOP + 1 - first) // count
    return range(first + index * size, first + (index + 1) * size)


_BLOCK = _worker_block()
_CURSOR = itertools.cycle(_BLOCK) if len(_BLOCK) >= 16 else None


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port nothing listens on now, that no port-0 socket will be given meanwhile."""
    if _CURSOR is not None:
        for _ in range(len(_BLOCK)):
            port = next(_CURSOR)
            if _is_free(port):
                return port
    with socket.socket() as sock:  # no room above the ephemeral range on this host
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
