"""A real `nanoscale serve` child process, for tests that need the whole server: the installed
console script, configured only through `NANOSCALE_*` environment variables (secrets included:
`/proc/<pid>/cmdline` is world-readable, the environment is not), on a free loopback port, in
its own process group.

    with served_nanoscale(settings, tmp_path / "serve") as server:
        httpx.get(f"{server.url}/api/health")
        server.kill(signal.SIGKILL); server.restart()

`deliver_over_http(sim, app, server)` aims the GitHub simulator's App webhook at the server;
repository hooks follow from `public_base_url`, which is the server's own URL here.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from nanoscale.db.engine import make_engine
from nanoscale.settings import ENV_PREFIX, Settings
from tests.fakes.github.simulator import GitHubSimulator
from tests.fakes.github.state import App
from tests.support.ports import free_port
from tests.support.project_users import projects_created_in, remove_users_of

WEBHOOK_PATH = "/api/integrations/github/webhook"
STARTUP_LIMIT_SECONDS = 30
STOP_GRACE_SECONDS = 20
NANOSCALE = str(Path(sys.executable).with_name("nanoscale"))  # the worktree's console script


def _env_value(value: Any) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def settings_env(settings: Settings) -> dict[str, str]:
    """Every setting as the `NANOSCALE_*` variable the CLI reads (unset ones left out), so the
    child runs on exactly these settings."""
    env = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is not None:
            env[f"{ENV_PREFIX}{name.upper()}"] = _env_value(value)
    return env


def pids_working_under(root: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue  # gone, or not ours to inspect
        if cwd.startswith(f"{root.resolve()}/"):
            found.append(int(entry.name))
    return found


WORKER_PORT_BLOCK = ("NANOSCALE_PORT_RANGE_START", "NANOSCALE_PORT_RANGE_END")


class ServedNanoScale:
    """`nanoscale serve` with `env` (on top of this process's environment minus its own
    `NANOSCALE_*`); `url` is known before start, so the simulator can be aimed at it first.
    Output (stdout and stderr, every run) goes to `log_path`; `output()` reads it."""

    def __init__(self, root: Path, env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "server.log"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
        self.env: dict[str, str] = {
            **inherited,
            "NANOSCALE_DATA_DIR": str(root / "var"),
            **(env or {}),
            "NANOSCALE_HOST": "127.0.0.1",
            "NANOSCALE_PORT": str(self.port),
        }
        for name in WORKER_PORT_BLOCK:  # a pytest-xdist worker's slice (tests/conftest.py)
            if name in os.environ:
                self.env.setdefault(name, os.environ[name])
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def database_url(self) -> str:
        data_dir = Path(self.env["NANOSCALE_DATA_DIR"])
        return self.env.get("NANOSCALE_DATABASE_URL") or f"sqlite:///{data_dir / 'nanoscale.db'}"

    def output(self) -> str:
        """The server's stdout and stderr so far (for failure messages)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> ServedNanoScale:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [NANOSCALE, "serve"],
                env=self.env,
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one process group: teardown reaches every child
            )
        self.wait_healthy()
        return self

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                process = self._process
                if process is None or process.poll() is not None:
                    raise RuntimeError(f"nanoscale serve exited early:\n{self.output()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                        return
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nanoscale serve did not become healthy:\n{self.output()}")

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> int:
        """Signal the server process (not its group: what a crash leaves behind stays) and
        wait for it to exit; returns its exit status."""
        process = self._process
        assert process is not None, "not running"
        process.send_signal(sig)
        return process.wait(timeout=STOP_GRACE_SECONDS)

    def restart(self) -> None:
        """Stop (gracefully, unless it is already dead) and start again on the same port,
        database and data dir. Releases keep running: the new server adopts them."""
        process = self._process
        if process is not None and process.poll() is None:
            self.kill(signal.SIGTERM)
        self.start()

    def stop(self) -> None:
        """Stop the server, everything in its group, and every release and build it left."""
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # graceful: the runtime stops its releases
            try:
                process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything left in the group
        self._end_releases()

    def _end_releases(self) -> None:
        """Releases outlive an orchestrator on purpose (it re-adopts them on restart) and a
        build may still be running: end every process working inside this server's data dir,
        then remove the per-project users."""
        for pid in pids_working_under(self.root):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as db:
                made = projects_created_in(db)
        finally:
            engine.dispose()
        remove_users_of(made)

    def __enter__(self) -> ServedNanoScale:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()


@contextmanager
def served_nanoscale(settings: Settings, root: Path, **env: str) -> Iterator[ServedNanoScale]:
    """Serve `settings` (host, port and public base URL replaced by the child's own; `env`
    adds or overrides variables, e.g. NANOSCALE_WORKER_ENABLED="true")."""
    server = ServedNanoScale(root, settings_env(settings))
    server.env.update(NANOSCALE_PUBLIC_BASE_URL=server.url, **env)
    with server:
        yield server


def deliver_over_http(sim: GitHubSimulator, app: App, server: ServedNanoScale, secret: str) -> None:
    """The App's webhook goes to `server` over real HTTP, signed with `secret` (the server's
    NANOSCALE_GITHUB_WEBHOOK_SECRET); repository hooks already point at its public URL."""
    app.webhook_url = f"{server.url}{WEBHOOK_PATH}"
    app.webhook_secret = secret
    sim.deliverer.transport = None  # real HTTP
