"""A Caddy that NanoScale runs itself (`NANOSCALE_CADDY_ADMIN` unset): the embedded default.

`ensure_running()` adopts a Caddy already answering on the admin socket, or starts
`caddy run` with a minimal config: the admin API on the socket only, no config persistence,
storage and log inside `<data dir>/caddy` (mode 0700, so only NanoScale's user can reach the
socket). A Caddy it starts ends with the NanoScale process (parent-death signal): stopping
`make run` frees its port, and no Caddy outlives a deleted data directory. The next start
restores every route from the database. NanoScale's `CaddyProxy` then installs its server
and routes through the admin API exactly as with a system Caddy.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nanoscale.engine.proxy.caddy_admin import CaddyAdmin, admin_listen_address
from nanoscale.errors import PlatformError

STARTUP_SECONDS = 20.0
# Started Caddys outlive this object on purpose; holding their Popen keeps them from being
# reported as leaked while they serve.
_STARTED: list[subprocess.Popen[bytes]] = []
PRIVATE_DIR = 0o700
MAX_SOCKET_PATH = 100
PR_SET_PDEATHSIG = 1  # linux/prctl.h  # AF_UNIX paths are limited to 107 bytes


@dataclass(frozen=True)
class ManagedCaddyPaths:
    home: Path  # <data dir>/caddy: config, storage, log
    socket: Path


def managed_paths(data_dir: Path) -> ManagedCaddyPaths:
    home = data_dir.resolve() / "caddy"
    return ManagedCaddyPaths(home=home, socket=home / "admin.sock")


def caddy_binary() -> str | None:
    return shutil.which("caddy", path=f"{os.environ.get('PATH', '')}:/usr/bin:/usr/local/bin")


class ManagedCaddy:
    def __init__(self, paths: ManagedCaddyPaths) -> None:
        self.paths = paths
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.paths.home / "caddy.log"

    @property
    def pid_path(self) -> Path:
        return self.paths.home / "caddy.pid"

    def answers(self) -> bool:
        with CaddyAdmin(self.paths.socket, timeout=2.0) as admin:
            return admin.answers()

    def ensure_running(self) -> bool:
        """Start Caddy unless one already answers on the socket; True if this call started it.
        Raises PlatformError (code `proxy_unavailable`) when Caddy cannot run here."""
        _private_dir(self.paths.home)
        if len(str(self.paths.socket)) > MAX_SOCKET_PATH:
            raise PlatformError(
                f"the data directory path is too long for Caddy's admin socket "
                f"({self.paths.socket}); use a shorter NANOSCALE_DATA_DIR",
                code="proxy_unavailable",
            )
        if self.answers():
            return False
        binary = caddy_binary()
        if binary is None:
            raise PlatformError(
                "caddy is not installed (apt-get install caddy)", code="proxy_unavailable"
            )
        self.paths.socket.unlink(missing_ok=True)  # left by a Caddy that was killed
        config = self.paths.home / "config.json"
        config.write_text(json.dumps(self.initial_config()))
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [binary, "run", "--config", str(config), "--pidfile", str(self.pid_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self._environment(),
                cwd=self.paths.home,
                start_new_session=True,  # Ctrl+C reaches it only through its parent's end
                preexec_fn=_end_with_parent,  # noqa: PLW1509 (no threads in the child yet)
            )
        self._wait_ready()
        self.paths.socket.chmod(0o600)  # Caddy 2.6 creates it with the umask's mode
        _STARTED.append(self._proc)
        return True

    def initial_config(self) -> dict[str, Any]:
        return {
            "admin": {
                "listen": admin_listen_address(self.paths.socket),
                "config": {"persist": False},
            },
            "storage": {"module": "file_system", "root": str(self.paths.home / "data")},
            "logging": {
                "logs": {
                    "default": {
                        "level": "WARN",
                        "writer": {"output": "file", "filename": str(self.log_path)},
                    }
                }
            },
        }

    def stop(self) -> None:
        """Stop the Caddy this object started (tests; a served NanoScale leaves it running)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def _environment(self) -> dict[str, str]:
        home = str(self.paths.home)
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "XDG_DATA_HOME": f"{home}/data",
            "XDG_CONFIG_HOME": f"{home}/config",
        }

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                break
            if self.answers():
                return
            time.sleep(0.05)
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-600:] if self.log_path.exists() else ""
        raise PlatformError(
            f"Caddy did not start (see {self.log_path}): {tail.strip()}",
            code="proxy_unavailable",
        )


def _end_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it ends."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _private_dir(path: Path) -> None:
    """Create `path` 0700, or refuse one that is not ours alone (it holds the admin socket)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    info = path.lstat()
    if path.is_symlink() or info.st_uid != os.geteuid():
        raise PlatformError(
            f"{path} is not a directory owned by NanoScale's user; remove it",
            code="proxy_unavailable",
        )
    path.chmod(PRIVATE_DIR)
