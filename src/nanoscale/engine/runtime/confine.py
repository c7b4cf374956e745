"""Starting tenant code: as the project's user, in its own cgroup, inside the sandbox.

Between fork and exec the child, still running the orchestrator's code with the
orchestrator's environment, joins the unit's cgroup (or sets rlimits where there is none),
drops every supplementary group, then its gid and uid, and only then enters the working
directory, with the permissions of the project's user. The tenant's environment takes effect
at exec, when nothing privileged is left: `LD_PRELOAD` or a file the tenant wrote can only
ever run as the tenant (the privileged helper that used to receive it, `setpriv`, is gone).
The child does only system calls on values computed beforehand (no imports, no locks).
"""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from nanoscale.engine.loader_env import without_loader_vars
from nanoscale.engine.runtime.cgroups import Cgroup, ResourceLimits
from nanoscale.engine.runtime.sandbox import Sandbox
from nanoscale.engine.runtime.users import Account

File = int | IO[bytes] | None


@dataclass(frozen=True)
class Confinement:
    account: Account | None  # None: run as the orchestrator's own (unprivileged) user
    cgroup: Cgroup | None
    limits: ResourceLimits | None  # applied as rlimits when there is no cgroup
    sandbox: Sandbox | None


def rlimits_for(confinement: Confinement) -> list[tuple[int, int]]:
    """(resource, limit) pairs for hosts without cgroups: data size always, process count
    only for a per-project user (RLIMIT_NPROC counts every process of the uid)."""
    limits = confinement.limits
    if limits is None or confinement.cgroup is not None:
        return []
    pairs = [(resource.RLIMIT_DATA, limits.memory_bytes)]
    if confinement.account is not None:
        pairs.append((resource.RLIMIT_NPROC, limits.max_processes))
    return pairs


def _preexec(confinement: Confinement, workdir: Path) -> Callable[[], None]:
    procs_files = confinement.cgroup.procs_files if confinement.cgroup else ()
    rlimits = rlimits_for(confinement)
    account = confinement.account
    target = os.fsencode(workdir)

    def enter() -> None:
        for path in procs_files:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")  # "0": the writing process itself
            finally:
                os.close(fd)
        for which, limit in rlimits:
            resource.setrlimit(which, (limit, limit))
        if account is not None:
            os.setgroups([])
            os.setresgid(account.gid, account.gid, account.gid)
            os.setresuid(account.uid, account.uid, account.uid)
        os.chdir(target)  # as the project user: a swapped-in link grants nothing

    return enter


def start(
    argv: Sequence[str],
    *,
    confinement: Confinement,
    workdir: Path,
    writable: Sequence[Path],
    env: Mapping[str, str],
    stdout: File,
    stderr: File,
    die_with_parent: bool,
) -> subprocess.Popen[bytes]:
    """Start `argv` confined, in a new session (its pid is its process group id)."""
    command = list(argv)
    if confinement.sandbox is not None:
        command = confinement.sandbox.wrap(
            command, writable=writable, workdir=workdir, die_with_parent=die_with_parent
        )
    return subprocess.Popen(
        command,
        env=without_loader_vars(env),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        close_fds=True,
        preexec_fn=_preexec(confinement, workdir),  # noqa: PLW1509 - see the module docstring
    )
