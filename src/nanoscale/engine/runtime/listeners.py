"""Who is listening on a release's port, from /proc/net/tcp{,6} (Linux).

A health check only proves that *something* answers on the port. Another tenant could bind
the release port first (between the port pick and the app's start) and answer the check, and
the proxy would then send the project's traffic to it. Before the switch, every listening
socket on the port must belong to the release: to its project's uid when each project has
its own user, otherwise to one of the release's own processes (socket inode among their fds).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

LISTEN = "0A"
TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


@dataclass(frozen=True)
class Listener:
    uid: int
    inode: int


def listeners(port: int) -> list[Listener]:
    found = []
    for table in TABLES:
        with contextlib.suppress(OSError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) < 10 or fields[3] != LISTEN:
                    continue
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    found.append(Listener(int(fields[7]), int(fields[9])))
    return found


def socket_inodes(pids: set[int]) -> set[int]:
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = str(fd.readlink())
                    if target.startswith("socket:["):
                        inodes.add(int(target[8:-1]))
    return inodes


def foreign_listeners(port: int, *, uid: int | None, pids: set[int]) -> list[Listener]:
    """Listeners on `port` that are not the release's."""
    found = listeners(port)
    if uid is not None:
        return [entry for entry in found if entry.uid != uid]
    own = socket_inodes(pids)
    return [entry for entry in found if entry.inode not in own]
