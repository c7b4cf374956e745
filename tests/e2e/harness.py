"""A real NanoScale server for browser tests: `nanoscale serve` in its own process group on
a free loopback port, SQLite and data in a temp dir, the worker enabled, proxy `none`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx
from playwright.sync_api import Page

from nanoscale.crypto import generate_key
from tests.support.project_users import remove_users_of

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _pids_working_under(root: Path) -> list[int]:
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NanoScaleServer:
    """Start with `with NanoScaleServer(tmp, git_hosts=[...]) as server: server.url`."""

    def __init__(self, root: Path, *, git_hosts: list[str]) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "server.log"
        self.env = {
            **os.environ,
            "NANOSCALE_HOST": "127.0.0.1",
            "NANOSCALE_PORT": str(self.port),
            "NANOSCALE_DATA_DIR": str(root / "var"),
            "NANOSCALE_DATABASE_URL": f"sqlite:///{root / 'nanoscale.db'}",
            "NANOSCALE_SECRET_KEY": generate_key(),
            "NANOSCALE_GIT_ALLOWED_HOSTS": ",".join(git_hosts),
            "NANOSCALE_WORKER_ENABLED": "true",
            "NANOSCALE_RUNTIME": "process",
            "NANOSCALE_PROXY": "none",
            "NANOSCALE_DRAIN_SECONDS": "0.2",
            "NANOSCALE_WORKER_POLL_SECONDS": "0.1",
        }
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> NanoScaleServer:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [str(Path(sys.executable).with_name("nanoscale")), "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one process group: teardown reaches every child
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
                try:
                    if client.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become ready:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # graceful: the runtime stops its releases
            try:
                process.wait(timeout=20)
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
        for pid in _pids_working_under(self.root):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
        # Every project ever created here, deleted ones included (their teardown may have
        # found the user still busy).
        query = "SELECT target FROM audit_events WHERE action = 'project.created'"
        with contextlib.closing(sqlite3.connect(self.root / "nanoscale.db")) as db:
            targets = [row[0] for row in db.execute(query)]
        remove_users_of(target.removeprefix("project:") for target in targets)

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot as test-output/screenshots/<name>.png (for review)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def create_admin(server: NanoScaleServer, username: str, password: str) -> None:
    """First-run setup over plain HTTP (the form's token is the pre-session cookie's value)."""
    with httpx.Client(base_url=server.url) as client:
        client.get("/setup").raise_for_status()
        token = client.cookies["nanoscale_form"]
        form = {"username": username, "password": password, "password_confirm": password}
        response = client.post("/setup", data={**form, "csrf_token": token})
        assert response.status_code == 303, response.text


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def wait_for_deployment_end(page: Page) -> str:
    """Waits (no reload: htmx keeps the steps current) until the page's deployment finished;
    returns its final state."""
    done = "[data-deployment-state=live], [data-deployment-state=failed]"
    page.wait_for_selector(done, timeout=120_000)
    return str(page.locator(done).first.get_attribute("data-deployment-state"))
