"""Process inspection through /proc (Linux): liveness that survives pid reuse, process-group
members, and the processes carrying a release's marker in their environment.

The marker (`NANOSCALE_RELEASE=<deployment id>`, `NANOSCALE_BUILD=<deployment id>` for
builds) is inherited by every descendant, even one
that calls setsid() to escape the process group, so a stop can find and end all of them.
`/proc/<pid>/environ` is readable only by the process owner and root, which is exactly the
orchestrator's view of its releases.
"""

from __future__ import annotations

import os
from pathlib import Path

MARKER_VAR = "NANOSCALE_RELEASE"
PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ")".
    return raw[raw.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """Clock ticks since boot at which the process started (stable identity with the pid)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def is_alive(pid: int, expected_start: int | None = None) -> bool:
    fields = _stat_fields(pid)
    if fields is None or fields[0] in {"Z", "X"}:
        return False
    return expected_start is None or int(fields[19]) == expected_start


def _all_pids() -> list[int]:
    return [int(p.name) for p in PROC.iterdir() if p.name.isdigit()]


def group_pids(pgid: int) -> list[int]:
    """Live (non-zombie) members of a process group."""
    found = []
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if fields and fields[0] not in {"Z", "X"} and int(fields[2]) == pgid:
            found.append(pid)
    return found


def environ_value(pid: int, name: str) -> str | None:
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    prefix = name.encode() + b"="
    for entry in raw.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix) :].decode(errors="replace")
    return None


def marked_pids(value: str, *, var: str = MARKER_VAR) -> list[int]:
    """Live processes whose environment carries `var=value` (by default a release's marker)."""
    own = os.getpid()
    return [
        pid
        for pid in _all_pids()
        if pid != own and is_alive(pid) and environ_value(pid, var) == value
    ]


def uid_pids(uid: int) -> list[int]:
    """Live (non-zombie) processes whose real uid is `uid`."""
    found = []
    for pid in _all_pids():
        try:
            status = (PROC / str(pid) / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        state, uids = fields.get("State", "").split(), fields.get("Uid", "").split()
        if uids and uids[0] == str(uid) and state and state[0] not in {"Z", "X"}:
            found.append(pid)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
