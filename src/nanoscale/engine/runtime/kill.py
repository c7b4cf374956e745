"""Ending a process tree for good: its process group plus every process carrying its marker.

Builds and releases run in their own session, so signalling the group reaches what they
start, except a child that calls setsid() (a daemonizing build step, `setsid sleep 999 &`).
Such a child keeps its environment, so the marker variable (`NANOSCALE_BUILD=<deployment id>`
for builds, `NANOSCALE_RELEASE=<deployment id>` for releases) still finds it. Everything
found gets SIGTERM, then SIGKILL after the grace. The one helper serves every path: after
each build command, build timeout, cancel, recovery after a crash, and project teardown.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass

from nanoscale.engine.runtime import cgroups, procfs
from nanoscale.engine.runtime.cgroups import Cgroup

BUILD_MARKER_VAR = "NANOSCALE_BUILD"
RELEASE_MARKER_VAR = procfs.MARKER_VAR
DEFAULT_GRACE_SECONDS = 3.0
KILL_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Marker:
    var: str
    value: str


def build_marker(deployment_id: str) -> Marker:
    return Marker(BUILD_MARKER_VAR, deployment_id)


def build_cgroup_name(deployment_id: str) -> str:
    return f"b-{deployment_id}"


def release_cgroup_name(deployment_id: str) -> str:
    return f"r-{deployment_id}"


def release_marker(deployment_id: str) -> Marker:
    return Marker(RELEASE_MARKER_VAR, deployment_id)


def members(pgid: int | None, marker: Marker | None, cgroup: Cgroup | None = None) -> set[int]:
    """Live (non-zombie) processes of the group, those carrying the marker and those in the
    cgroup (which no process can leave, marker or not)."""
    found: set[int] = set()
    if pgid is not None and pgid > 1:
        found.update(procfs.group_pids(pgid))
    if marker is not None and marker.value:
        found.update(procfs.marked_pids(marker.value, var=marker.var))
    if cgroup is not None:
        found.update(pid for pid in cgroup.pids() if procfs.is_alive(pid))
    found.discard(os.getpid())
    return found


def _signal_all(pids: set[int], pgid: int | None, sig: signal.Signals) -> None:
    for target in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, sig)
    if pgid is not None and pgid > 1:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def _wait_gone(
    pgid: int | None, marker: Marker | None, cgroup: Cgroup | None, timeout: float
) -> set[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = members(pgid, marker, cgroup)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def kill_tree(
    *,
    pgid: int | None,
    marker: Marker | None,
    grace: float = DEFAULT_GRACE_SECONDS,
    cgroup: Cgroup | None = None,
) -> None:
    """SIGTERM the group, every marked process and the cgroup's members; SIGKILL whatever is
    left after `grace` (the cgroup until it is empty)."""
    found = members(pgid, marker, cgroup)
    if not found:
        return
    _signal_all(found, pgid, signal.SIGTERM)
    left = _wait_gone(pgid, marker, cgroup, grace)
    if left:
        _signal_all(left, pgid, signal.SIGKILL)
        if cgroup is not None:
            cgroup.kill_all()
        _wait_gone(pgid, marker, cgroup, KILL_WAIT_SECONDS)


def kill_build(
    *, deployment_id: str, pgid: int | None, grace: float = DEFAULT_GRACE_SECONDS
) -> None:
    """End a deployment's build: its current command's group and every escaped descendant."""
    group = cgroups.open_existing(build_cgroup_name(deployment_id))
    kill_tree(pgid=pgid, marker=build_marker(deployment_id), grace=grace, cgroup=group)
    if group is not None:
        group.remove()
