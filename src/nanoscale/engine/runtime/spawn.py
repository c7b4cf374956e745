"""Spawning and ending one release's process group.

The app runs as `/bin/sh -c <start_command>` in its own session (so its whole tree can be
signalled as a group), with a minimal environment: PATH, HOME, the project's env vars, PORT
and the release marker. Env vars travel only through the environment, never through argv.
`os.posix_spawn` is used rather than `subprocess.Popen`: a release outlives the orchestrator
object that started it (it is re-adopted after a restart), which Popen objects do not model.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from nanoscale.engine.runtime import kill, procfs
from nanoscale.engine.runtime.base import ReleaseSpec
from nanoscale.engine.runtime.users import Account

RESERVED_VARS = {"PORT", procfs.MARKER_VAR, kill.BUILD_MARKER_VAR}


def _binary(name: str) -> str:
    path = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
    if path is None:
        raise FileNotFoundError(f"{name} not found (util-linux / coreutils)")
    return path


def release_env(spec: ReleaseSpec) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(spec.workdir),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    env.update({k: v for k, v in spec.env.items() if k not in RESERVED_VARS})
    env["PORT"] = str(spec.port)
    env[procfs.MARKER_VAR] = spec.deployment_id
    return env


def release_argv(spec: ReleaseSpec, account: Account | None) -> list[str]:
    assert spec.start_command is not None
    command = [_binary("env"), "-C", str(spec.workdir), "/bin/sh", "-c", spec.start_command]
    if account is None:
        return command
    drop = [_binary("setpriv"), f"--reuid={account.uid}", f"--regid={account.gid}"]
    return [*drop, "--init-groups", "--no-new-privs", "--", *command]


def spawn(spec: ReleaseSpec, account: Account | None) -> int:
    """Start the release in a new session; returns its pid (= its process group id)."""
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    argv = release_argv(spec, account)
    log_flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    return os.posix_spawn(
        argv[0],
        argv,
        release_env(spec),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(spec.log_path), log_flags, 0o640),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )


def reap(pid: int) -> int | None:
    """Collect our own exited child; its exit code, or None if still running / not ours."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if done else None


def terminate(pgid: int | None, release_id: str, grace: float) -> None:
    """SIGTERM the group (if known) and every process carrying the release marker; SIGKILL
    whatever is left after the grace."""
    if pgid is not None:
        reap(pgid)  # our own exited child: collect it
    kill.kill_tree(pgid=pgid, marker=kill.release_marker(release_id), grace=grace)


def append_log(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as log:
        log.write(f"[nanoscale] {line}\n")
