"""Pick a fresh port for a new release: inside the configured range, not used by any release
the caller knows of, and free on the host right now."""

from __future__ import annotations

import random
import socket
from collections.abc import Collection

from nanoscale.errors import PlatformError


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_release_port(start: int, end: int, taken: Collection[int]) -> int:
    candidates = [p for p in range(start, end + 1) if p not in taken]
    random.shuffle(candidates)  # lowers collisions with other orchestrators and stale binds
    for port in candidates[:200]:
        if port_is_free(port):
            return port
    raise PlatformError(
        f"no free release port in {start}-{end}; widen NANOSCALE_RELEASE_PORT_START/END",
        code="no_free_port",
    )
