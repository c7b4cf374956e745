"""Run a release's install and build commands: confined, time-limited, streamed log.

Each command runs under `/bin/sh -c` in a new session, confined (`confine.start`): as the
project's user, in the build's own cgroup with the project's resource limits, inside the
sandbox, with only the listed environment (never the orchestrator's own, which holds its
secrets) plus the build marker `NANOSCALE_BUILD=<marker>`. A non-zero exit fails the build
with the exit code and the log tail; a command the kernel stopped at the memory or process
limit fails with `build_memory_limit` / `build_process_limit`. After every command, whatever
it ends (success, failure, time limit, cancel), everything it started is killed: its group,
every marked process and every member of the build's cgroup (`kill.kill_tree`), and the
sandbox's PID namespace ends with it. A step that daemonizes and strips the marker
(`env -u NANOSCALE_BUILD setsid sleep 999 &`) still cannot outlive the build.
"""

from __future__ import annotations

import codecs
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nanoscale.engine.runtime import cgroups, confine, kill
from nanoscale.engine.runtime.cgroups import Cgroup, ResourceLimits
from nanoscale.engine.runtime.sandbox import Sandbox
from nanoscale.engine.runtime.users import Account, check_reachable
from nanoscale.errors import Cancelled, PlatformError, UserCodeError

TAIL_LINES = 20
TAIL_CHARS = 4000  # of the log tail quoted in a failed build's error
READ_BYTES = 65_536  # output is read in chunks: a huge line without newline is never whole


@dataclass(frozen=True)
class BuildSpec:
    workdir: Path
    commands: Sequence[tuple[str, str]]  # (label, shell command)
    env: Mapping[str, str]
    run_as: Account | None
    timeout: float
    # The deployment id, so recovery and teardown find escaped processes from the database;
    # without one each build gets a fresh random marker.
    marker: str | None = None
    writable: tuple[Path, ...] = ()  # besides workdir (the release tree, the build's HOME)
    limits: ResourceLimits | None = None
    sandbox: Sandbox | None = None


@dataclass
class BuildControl:
    """Shared with the caller: `cancel` stops the build; `on_spawn(pgid)` records the group."""

    log: Callable[[str], None]
    cancel: threading.Event = field(default_factory=threading.Event)
    on_spawn: Callable[[int | None], None] = lambda _pgid: None


def run_build(spec: BuildSpec, control: BuildControl) -> None:
    deadline = time.monotonic() + spec.timeout
    if spec.run_as is not None:  # the command enters workdir as that user: say why it can't
        check_reachable(spec.workdir, spec.run_as)
    marker = kill.build_marker(spec.marker or uuid.uuid4().hex)
    group = (
        cgroups.create(kill.build_cgroup_name(marker.value), spec.limits) if spec.limits else None
    )
    confinement = confine.Confinement(spec.run_as, group, spec.limits, spec.sandbox)
    try:
        for label, command in spec.commands:
            control.log(f"$ {command}\n")
            _run_one(
                label, command, spec, control, deadline, marker=marker, confinement=confinement
            )
    finally:
        if group is not None:
            group.remove()


def _run_one(
    label: str,
    command: str,
    spec: BuildSpec,
    control: BuildControl,
    deadline: float,
    *,
    marker: kill.Marker,
    confinement: confine.Confinement,
) -> None:
    tail = _Tail()
    try:
        proc = confine.start(
            ["/bin/sh", "-c", command],
            confinement=confinement,
            workdir=spec.workdir,
            writable=spec.writable or (spec.workdir,),
            env={**spec.env, marker.var: marker.value},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            die_with_parent=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise PlatformError(
            f"could not start the {label} command ({type(exc).__name__})",
            code="build_spawn_failed",
        ) from None
    control.on_spawn(proc.pid)
    reader = threading.Thread(target=_pump, args=(proc, control.log, tail), daemon=True)
    reader.start()
    try:
        outcome = _wait(proc, control.cancel, deadline)
    finally:
        proc.poll()  # collect the leader if it exited, so only the rest is signalled
        # nothing a command starts outlives it
        kill.kill_tree(pgid=proc.pid, marker=marker, cgroup=confinement.cgroup)
        proc.wait()
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        control.on_spawn(None)
    if outcome == "cancelled":
        raise Cancelled("the deployment was cancelled")
    if outcome == "timeout":
        raise UserCodeError(
            f"the build did not finish within {int(spec.timeout)}s and was stopped",
            code="build_timeout",
        )
    if proc.returncode != 0:
        _raise_if_limited(label, confinement.cgroup, spec.limits)
        raise UserCodeError(
            f"{label} command failed with exit code {proc.returncode}:\n" + tail.text(),
            code=f"{label}_failed",
        )


def _raise_if_limited(label: str, group: Cgroup | None, limits: ResourceLimits | None) -> None:
    """A failed command that hit a resource limit says so (the user's code, the
    operator's setting to raise), rather than only quoting an exit code."""
    if group is None or limits is None:
        return
    if group.memory_limit_hit():
        raise UserCodeError(
            f"the {label} command was stopped: it used more than the project memory limit "
            f"of {limits.memory_bytes // 2**20} MiB (NANOSCALE_TENANT_MEMORY_MB)",
            code="build_memory_limit",
        )
    if group.process_limit_hit():
        raise UserCodeError(
            f"the {label} command failed after reaching the project limit of "
            f"{limits.max_processes} processes (NANOSCALE_TENANT_MAX_PROCESSES)",
            code="build_process_limit",
        )


def _wait(proc: subprocess.Popen[bytes], cancel: threading.Event, deadline: float) -> str:
    while proc.poll() is None:
        if cancel.is_set():
            return "cancelled"
        if time.monotonic() >= deadline:
            return "timeout"
        try:
            proc.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
    return "exited"


class _Tail:
    """The last TAIL_LINES lines of the output, at most TAIL_CHARS characters."""

    def __init__(self) -> None:
        self._text = ""

    def add(self, text: str) -> None:
        self._text = (self._text + text)[-TAIL_CHARS:]

    def text(self) -> str:
        return "".join(self._text.splitlines(keepends=True)[-TAIL_LINES:])


def _pump(proc: subprocess.Popen[bytes], log: Callable[[str], None], tail: _Tail) -> None:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := os.read(fd, READ_BYTES):
        text = decoder.decode(chunk)
        if text:
            tail.add(text)
            log(text)
    rest = decoder.decode(b"", final=True)
    if rest:
        tail.add(rest)
        log(rest)
