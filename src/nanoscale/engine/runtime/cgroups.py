"""Per-build and per-release control groups: memory, process-count and CPU limits, and a
complete list of the processes to kill.

One cgroup per unit (`b-<deployment>` for a build, `r-<deployment>` for a release), each with
the project limits. cgroup v2 (a unified hierarchy with the `memory` and `pids` controllers)
is used where the host has it, otherwise the v1 `memory`, `pids` and `cpu` hierarchies;
without either (or when not root) `available()` is None and only rlimits apply (see
`confine`). Processes join their cgroup before exec, so nothing they start is outside it: a
process that daemonizes or strips its marker is still listed in `pids()`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from nanoscale.logs import get_logger

log = get_logger("nanoscale.runtime")
CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP_DIR = "nanoscale"
V1_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
_UNIT = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ResourceLimits:
    memory_bytes: int
    max_processes: int
    cpu_percent: int  # of one core: 100 = one full core, 200 = two


@dataclass(frozen=True)
class Cgroup:
    """One unit's cgroup: a directory per hierarchy (one under v2, one per controller in v1),
    each named by its controller (v2: "unified")."""

    places: tuple[tuple[str, Path], ...]
    version: int

    @property
    def dirs(self) -> tuple[Path, ...]:
        return tuple(directory for _controller, directory in self.places)

    @property
    def procs_files(self) -> tuple[bytes, ...]:
        """What a child writes "0" to, to join (precomputed: used between fork and exec)."""
        return tuple(os.fsencode(d / "cgroup.procs") for d in self.dirs)

    def pids(self) -> set[int]:
        found: set[int] = set()
        for directory in self.dirs:
            with contextlib.suppress(OSError):
                text = (directory / "cgroup.procs").read_text()
                found.update(int(line) for line in text.split())
        return found

    def kill_all(self, *, timeout: float = 5.0) -> None:
        """SIGKILL every member until none is left (a fork bomb keeps adding members)."""
        deadline = time.monotonic() + timeout
        while (members := self.pids() - {os.getpid()}) and time.monotonic() < deadline:
            for pid in members:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def memory_limit_hit(self) -> bool:
        """True if the kernel killed a member for exceeding the memory limit."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        return _counter(self._file("memory", name), "oom_kill") > 0

    def process_limit_hit(self) -> bool:
        """True if a fork was refused because the process limit was reached."""
        return _counter(self._file("pids", "pids.events"), "max") > 0

    def remove(self) -> None:
        self.kill_all()
        for directory in self.dirs:
            with contextlib.suppress(OSError):
                directory.rmdir()

    def _file(self, controller: str, name: str) -> Path:
        if self.version == 2:
            return self.dirs[0] / name
        return next((d / name for c, d in self.places if c == controller), Path("/nonexistent"))


def _counter(path: Path, key: str) -> int:
    try:
        text = path.read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def available(root: Path = CGROUP_ROOT) -> int | None:
    """The cgroup version NanoScale can use here (2 or 1), or None."""
    if os.geteuid() != 0:
        return None
    controllers = root / "cgroup.controllers"
    if controllers.exists():
        found = set(controllers.read_text().split())
        usable = {"memory", "pids"} <= found and os.access(root, os.W_OK)
        return 2 if usable else None
    if all(
        (root / c / "cgroup.procs").exists() and os.access(root / c, os.W_OK)
        for c in ("memory", "pids")
    ):
        return 1
    return None


def create(unit: str, limits: ResourceLimits, *, root: Path = CGROUP_ROOT) -> Cgroup | None:
    """A fresh cgroup for `unit` with `limits`, or None where cgroups are unavailable.
    A leftover cgroup of the same unit (a crashed orchestrator's) is emptied first."""
    version = available(root)
    if version is None:
        return None
    group = open_existing(unit, root=root) or Cgroup((), version)
    group.remove()
    try:
        if version == 2:
            return _create_v2(unit, limits, root)
        return _create_v1(unit, limits, root)
    except OSError as exc:  # e.g. a read-only cgroup mount in a container: rlimits apply
        log.warning("runtime.cgroup_unavailable", unit=unit, error=exc.strerror)
        return None


def open_existing(unit: str, *, root: Path = CGROUP_ROOT) -> Cgroup | None:
    """The unit's cgroup if it exists (after an orchestrator restart: to kill or re-adopt)."""
    version = available(root)
    if version is None:
        return None
    places = tuple((c, d) for c, d in _unit_places(unit, version, root) if d.is_dir())
    return Cgroup(places, version) if places else None


def _unit_places(unit: str, version: int, root: Path) -> list[tuple[str, Path]]:
    if not _UNIT.fullmatch(unit):
        raise ValueError(f"unsafe cgroup name {unit!r}")
    if version == 2:
        return [("unified", root / GROUP_DIR / unit)]
    return [
        (c, _v1_parent(root, c) / GROUP_DIR / unit)
        for c in V1_CONTROLLERS
        if (root / c / "cgroup.procs").exists()
    ]


def _v1_parent(root: Path, controller: str) -> Path:
    """v1: nest under the orchestrator's own cgroup, so its host's accounting still holds."""
    own = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if controller in names.split(","):
                own = path.strip("/")
    return root / controller / own if own else root / controller


def _create_v1(unit: str, limits: ResourceLimits, root: Path) -> Cgroup:
    places = _unit_places(unit, 1, root)
    for controller, directory in places:
        directory.mkdir(parents=True, exist_ok=True)
        if controller == "memory":
            _write(directory / "memory.limit_in_bytes", limits.memory_bytes)
            swap = directory / "memory.memsw.limit_in_bytes"
            if swap.exists():  # memory + swap: the limit cannot be dodged by swapping
                _write(swap, limits.memory_bytes)
        elif controller == "pids":
            _write(directory / "pids.max", limits.max_processes)
        elif controller == "cpu":
            _write(directory / "cpu.cfs_period_us", CPU_PERIOD_US)
            _write(directory / "cpu.cfs_quota_us", CPU_PERIOD_US * limits.cpu_percent // 100)
    return Cgroup(tuple(places), 1)


def _create_v2(unit: str, limits: ResourceLimits, root: Path) -> Cgroup:
    parent = root / GROUP_DIR
    parent.mkdir(exist_ok=True)
    wanted = {"memory", "pids", "cpu"} & set((root / "cgroup.controllers").read_text().split())
    for directory in (root, parent):  # let the unit cgroups use the controllers
        with contextlib.suppress(OSError):
            (directory / "cgroup.subtree_control").write_text(
                " ".join(f"+{c}" for c in sorted(wanted))
            )
    directory = parent / unit
    directory.mkdir(exist_ok=True)
    _write(directory / "memory.max", limits.memory_bytes)
    with contextlib.suppress(OSError):
        _write(directory / "memory.swap.max", 0)
    _write(directory / "pids.max", limits.max_processes)
    if "cpu" in wanted:
        quota = CPU_PERIOD_US * limits.cpu_percent // 100
        (directory / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
    return Cgroup((("unified", directory),), 2)


def _write(path: Path, value: int) -> None:
    path.write_text(str(value))
