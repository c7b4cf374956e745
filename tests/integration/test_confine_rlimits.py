"""Hosts without cgroups: the memory limit still applies per process (RLIMIT_DATA), and the
process limit per project user (RLIMIT_NPROC). Run here with the cgroup left out."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from nanoscale.engine.runtime import confine, procfs
from nanoscale.engine.runtime.cgroups import ResourceLimits
from nanoscale.engine.runtime.users import ensure_project_user, lookup, remove_project_user

LIMITS = ResourceLimits(memory_bytes=96 * 2**20, max_processes=20, cpu_percent=100)
ALLOCATE = "python3 -c 'x = bytearray(256 * 2**20)' 2>&1; echo exit=$?"


def _processes_of(uid: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        uids = next(
            (line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")), []
        )
        count += str(uid) in uids[:1]
    return count


def _run(command: str, confinement: confine.Confinement, workdir: Path) -> str:
    proc = confine.start(
        ["/bin/sh", "-c", command],
        confinement=confinement,
        workdir=workdir,
        writable=(workdir,),
        env={"PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        die_with_parent=True,
    )
    out, _ = proc.communicate(timeout=60)
    return out.decode()


def test_without_a_cgroup_a_process_cannot_allocate_past_the_memory_limit() -> None:
    workdir = Path("/")
    limited = _run(ALLOCATE, confine.Confinement(None, None, LIMITS, None), workdir)
    assert "MemoryError" in limited and "exit=1" in limited
    free = _run(ALLOCATE, confine.Confinement(None, None, None, None), workdir)
    assert "exit=0" in free


@pytest.fixture
def project_user() -> Iterator[str]:
    name, project_id = f"rl-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    user = ensure_project_user(name, project_id)
    assert user is not None
    yield user
    account = lookup(user)
    if account is not None:  # what the test spawned may still be dying: userdel refuses then
        deadline = time.monotonic() + 10
        while (pids := procfs.uid_pids(account.uid)) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
    remove_project_user(name, project_id)


@pytest.mark.skipif(os.geteuid() != 0, reason="per-project users need root")
def test_without_a_cgroup_a_project_user_cannot_fork_past_the_process_limit(
    project_user: str,
) -> None:
    account = lookup(project_user)
    assert account is not None
    # RLIMIT_NPROC counts every process of the uid on the host: leave room for any already
    # running as it (uids are reused after userdel), then ask for far more than the rest.
    limits = replace(LIMITS, max_processes=_processes_of(account.uid) + 20)
    confinement = confine.Confinement(account, None, limits, None)
    spawn_many = "for i in $(seq 60); do sleep 5 & done 2>&1 | head -1; kill 0 2>/dev/null"
    out = _run(spawn_many, confinement, Path("/"))
    assert "fork" in out.lower() or "resource temporarily unavailable" in out.lower(), out
