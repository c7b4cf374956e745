"""Run a release's install and build commands: own process group, time limit, streamed log.

Each command runs under `/bin/sh -c` in a new session (so its process group is the whole
build), as the project's user when given, with only the listed environment (never the
orchestrator's own, which holds its secrets) plus the build marker
`NANOSCALE_BUILD=<marker>`. A non-zero exit fails the build with the exit code and the log
tail. After every command, whatever it ends (success, failure, time limit, cancel), its
group and every marked process are killed (`kill.kill_tree`): a step that daemonizes
(`setsid sleep 999 &`) leaves the group but not the marker, and must not outlive the build.
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

from nanoscale.engine.runtime import kill
from nanoscale.engine.runtime.users import Account
from nanoscale.errors import Cancelled, UserCodeError

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


@dataclass
class BuildControl:
    """Shared with the caller: `cancel` stops the build; `on_spawn(pgid)` records the group."""

    log: Callable[[str], None]
    cancel: threading.Event = field(default_factory=threading.Event)
    on_spawn: Callable[[int | None], None] = lambda _pgid: None


def run_build(spec: BuildSpec, control: BuildControl) -> None:
    deadline = time.monotonic() + spec.timeout
    marker = kill.build_marker(spec.marker or uuid.uuid4().hex)
    for label, command in spec.commands:
        control.log(f"$ {command}\n")
        _run_one(label, command, spec, control, deadline, marker=marker)


def _run_one(
    label: str,
    command: str,
    spec: BuildSpec,
    control: BuildControl,
    deadline: float,
    *,
    marker: kill.Marker,
) -> None:
    tail = _Tail()
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=spec.workdir,
        env={**spec.env, marker.var: marker.value},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        user=spec.run_as.uid if spec.run_as else None,
        group=spec.run_as.gid if spec.run_as else None,
        extra_groups=[] if spec.run_as else None,
    )
    control.on_spawn(proc.pid)
    reader = threading.Thread(target=_pump, args=(proc, control.log, tail), daemon=True)
    reader.start()
    try:
        outcome = _wait(proc, control.cancel, deadline)
    finally:
        proc.poll()  # collect the leader if it exited, so only the rest is signalled
        kill.kill_tree(pgid=proc.pid, marker=marker)  # nothing a command starts outlives it
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
        raise UserCodeError(
            f"{label} command failed with exit code {proc.returncode}:\n" + tail.text(),
            code=f"{label}_failed",
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
