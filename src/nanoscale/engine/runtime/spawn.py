"""Spawning and ending one release's process group.

The app runs as `/bin/sh -c <start_command>` in its own session (so its whole tree can be
signalled as a group), confined like a build (`confine.start`: the project's user, the
release's own cgroup, the sandbox), with a minimal environment: PATH, HOME, the project's
env vars (loader variables never), PORT and the release marker. Env vars travel only through
the environment, never through argv. A release outlives the orchestrator object that started
it (it is re-adopted after a restart), so the Popen objects are kept here only to collect
exit codes; ending a release never depends on them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from nanoscale.engine.loader_env import without_loader_vars
from nanoscale.engine.runtime import cgroups, confine, kill, procfs
from nanoscale.engine.runtime.base import ReleaseSpec
from nanoscale.engine.runtime.cgroups import ResourceLimits
from nanoscale.engine.runtime.sandbox import Sandbox
from nanoscale.engine.runtime.users import Account

RESERVED_VARS = {"PORT", procfs.MARKER_VAR, kill.BUILD_MARKER_VAR}
_children: dict[int, subprocess.Popen[bytes]] = {}


def release_env(spec: ReleaseSpec) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(spec.workdir),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    env.update(without_loader_vars({k: v for k, v in spec.env.items() if k not in RESERVED_VARS}))
    env["PORT"] = str(spec.port)
    env[procfs.MARKER_VAR] = spec.deployment_id
    return env


def spawn(
    spec: ReleaseSpec,
    account: Account | None,
    *,
    limits: ResourceLimits | None = None,
    sandbox: Sandbox | None = None,
) -> int:
    """Start the release in a new session; returns its pid (= its process group id)."""
    assert spec.start_command is not None
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    group = cgroups.create(kill.release_cgroup_name(spec.deployment_id), limits) if limits else None
    log_fd = os.open(spec.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        proc = confine.start(
            ["/bin/sh", "-c", spec.start_command],
            confinement=confine.Confinement(account, group, limits, sandbox),
            workdir=spec.workdir,
            writable=(spec.tree or spec.workdir,),
            env=release_env(spec),
            stdout=log_fd,
            stderr=log_fd,
            die_with_parent=False,  # releases outlive an orchestrator restart
        )
    except subprocess.SubprocessError as exc:  # the child failed before exec
        raise OSError(f"could not enter the release's sandbox ({exc})") from None
    finally:
        os.close(log_fd)
    _children[proc.pid] = proc
    return proc.pid


def reap(pid: int) -> int | None:
    """Collect our own exited child; its exit code, or None if still running / not ours."""
    for other in [p for p in _children.values() if p.pid != pid]:
        if other.poll() is not None:  # ended and collected elsewhere: forget it
            _children.pop(other.pid, None)
    proc = _children.get(pid)
    if proc is not None:
        code = proc.poll()
        if code is not None:
            del _children[pid]
        return code
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if done else None


def limit_note(release_id: str, limits: ResourceLimits | None) -> str:
    """Why the kernel stopped the release, if it was a project limit (for its log)."""
    group = cgroups.open_existing(kill.release_cgroup_name(release_id))
    if group is None or limits is None:
        return ""
    if group.memory_limit_hit():
        return (
            f" (stopped at the project memory limit of {limits.memory_bytes // 2**20} MiB, "
            "NANOSCALE_TENANT_MEMORY_MB)"
        )
    if group.process_limit_hit():
        return f" (reached the project limit of {limits.max_processes} processes)"
    return ""


def forget_children() -> None:
    """Orchestrator shutdown: releases keep running on purpose (a restart re-adopts them);
    their exit codes are then collected by pid (`reap`), so the Popen objects are dropped
    as handled rather than left to warn about a running process."""
    for proc in _children.values():
        proc.returncode = proc.returncode if proc.returncode is not None else -1
    _children.clear()


def terminate(pgid: int | None, release_id: str, grace: float, *, final: bool = True) -> None:
    """SIGTERM the group (if known), every process carrying the release marker and every
    member of the release's cgroup; SIGKILL whatever is left after the grace. `final` also
    removes the cgroup (a restart keeps it)."""
    if pgid is not None:
        reap(pgid)  # our own exited child: collect it
    group = cgroups.open_existing(kill.release_cgroup_name(release_id))
    kill.kill_tree(pgid=pgid, marker=kill.release_marker(release_id), grace=grace, cgroup=group)
    if pgid is not None:
        reap(pgid)
    if group is not None and final:
        group.remove()


def append_log(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as log:
        log.write(f"[nanoscale] {line}\n")
