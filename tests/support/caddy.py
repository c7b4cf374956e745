"""A real Caddy (Debian's `caddy` binary) for tests, on free loopback ports.

`running_caddy()` starts `caddy run` with a minimal JSON config (admin API only, on a Unix
socket in a private temp dir as in production, no config persistence, storage and logs inside
that dir), waits until the admin API answers, and stops the process afterwards. NanoScale's
`CaddyProxy` then adds its own HTTP server on `http_port` through the admin API, exactly as
in production.

    with running_caddy() as caddy:
        settings = make_settings(**caddy.settings_overrides())
        ...
        caddy.get("blog.localhost")  # a request through Caddy with that Host header
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from nanoscale.engine.proxy.caddy_admin import CaddyAdmin, admin_listen_address
from tests.support.ports import free_port

STARTUP_TIMEOUT = 15.0


def caddy_binary() -> str:
    path = shutil.which("caddy")
    if not path:
        raise RuntimeError("caddy not found: install Debian's caddy package (`make system-deps`)")
    return path


@dataclass
class CaddyInstance:
    root: Path
    http_port: int = field(default_factory=free_port)
    user: str | None = None  # run Caddy as this system user (as Debian's caddy.service does)
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def admin_socket(self) -> Path:
        return self.root / "admin.sock"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def admin(self) -> CaddyAdmin:
        """A client for the admin API (close it after use)."""
        return CaddyAdmin(self.admin_socket, timeout=5.0)

    @property
    def log_path(self) -> Path:
        return self.root / "caddy.log"

    def settings_overrides(self) -> dict[str, Any]:
        """Keyword overrides for `make_settings` that point NanoScale at this Caddy."""
        return {
            "proxy": "caddy",
            "caddy_admin": admin_listen_address(self.admin_socket),
            "proxy_http_port": self.http_port,
            "proxy_https_port": 0,  # tests never ask a public CA for certificates
            "proxy_listen_host": "127.0.0.1",
        }

    def initial_config(self) -> dict[str, Any]:
        return {
            "admin": {
                "listen": admin_listen_address(self.admin_socket),
                "config": {"persist": False},
            },
            "storage": {"module": "file_system", "root": str(self.root / "data")},
            "logging": {
                "logs": {"default": {"level": "WARN", "writer": {"output": "stderr"}}},
            },
        }

    def start(self) -> None:
        """Start (or start again, on the same ports) and wait for the admin API."""
        if self.running:
            return
        config_path = self.root / "initial.json"
        config_path.write_text(json.dumps(self.initial_config()))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "XDG_DATA_HOME": str(self.root / "data"),
            "XDG_CONFIG_HOME": str(self.root / "config"),
        }
        account = pwd.getpwnam(self.user) if self.user else None
        if account is not None:
            os.chown(self.root, account.pw_uid, account.pw_gid)  # its socket and storage
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [caddy_binary(), "run", "--config", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
                user=account.pw_uid if account else None,
                group=account.pw_gid if account else None,
                extra_groups=[] if account else None,
            )
        self._wait_ready()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running:
                break
            with CaddyAdmin(self.admin_socket, timeout=1.0) as admin:
                if admin.answers():
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"caddy did not become ready; log:\n{self.log_text()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def restart(self) -> None:
        """A Caddy restart: NanoScale's server and routes are gone until ensure_config()."""
        self.stop()
        self.start()

    def config(self) -> Any:
        with self.admin() as admin:
            return admin.request("GET", "/config/").json()

    def get(self, host: str, path: str = "/", *, timeout: float = 5.0) -> httpx.Response:
        """One request through Caddy's HTTP listener with the given Host header."""
        return httpx.get(
            f"http://127.0.0.1:{self.http_port}{path}", headers={"Host": host}, timeout=timeout
        )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def running_caddy(*, user: str | None = None) -> Iterator[CaddyInstance]:
    root = Path(tempfile.mkdtemp(prefix="nanoscale-caddy-"))
    instance = CaddyInstance(root=root, user=user)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
        shutil.rmtree(root, ignore_errors=True)
