"""The bubblewrap sandbox every build command and process release runs in (when available).

`bwrap` runs as the project's user (privileges are dropped before it starts; user namespaces
let it work unprivileged) and gives the tenant its own mount, PID, IPC and UTS namespaces:
the system read-only, a private /tmp, /proc and /dev, home directories and NanoScale's data
directory replaced by empty tmpfs mounts, and only the tenant's own tree (plus a build's HOME)
bound back writable. Other projects' files and processes are not even visible. A build's
sandbox dies with its command: when the PID namespace's first process exits, the kernel kills
everything else inside, so nothing a build starts can outlive it.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SandboxMode = Literal["auto", "bwrap", "none"]
PROTECTED_HOMES = (Path("/home"), Path("/root"))


@dataclass(frozen=True)
class Sandbox:
    bwrap: str
    hidden: tuple[Path, ...]  # replaced by empty directories inside (e.g. the data dir)

    def wrap(
        self,
        argv: Sequence[str],
        *,
        writable: Sequence[Path],
        workdir: Path,
        die_with_parent: bool,
    ) -> list[str]:
        args = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        args += ["--tmpfs", "/tmp"]  # noqa: S108 - a private, empty /tmp
        for path in (*PROTECTED_HOMES, *self.hidden):
            if path.is_dir():
                args += ["--tmpfs", str(path)]
        for path in writable:
            args += ["--bind", str(path), str(path)]
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if die_with_parent:
            args.append("--die-with-parent")
        return [*args, "--chdir", str(workdir), "--", *argv]


def find_bwrap(mode: SandboxMode) -> str | None:
    """The bwrap binary to use, None for no sandbox; `bwrap` mode insists on it."""
    if mode == "none":
        return None
    path = shutil.which("bwrap", path="/usr/bin:/bin:/usr/local/bin")
    if path is None and mode == "bwrap":
        raise FileNotFoundError("NANOSCALE_SANDBOX=bwrap but bwrap is not installed")
    return path


def make_sandbox(mode: SandboxMode, *, hidden: tuple[Path, ...]) -> Sandbox | None:
    bwrap = find_bwrap(mode)
    if bwrap is None:
        return None
    return Sandbox(bwrap, tuple(p.resolve() for p in hidden))
