"""A real NanoScale server for browser tests (tests/support/served_nanoscale.py): SQLite and
data in a temp dir, the worker enabled, proxy `none`."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Page

from nanoscale.crypto import generate_key
from tests.support.served_nanoscale import ServedNanoScale

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


class NanoScaleServer(ServedNanoScale):
    """Start with `with NanoScaleServer(tmp, git_hosts=[...]) as server: server.url`."""

    def __init__(self, root: Path, *, git_hosts: list[str]) -> None:
        super().__init__(
            root,
            {
                "NANOSCALE_DATABASE_URL": f"sqlite:///{root / 'nanoscale.db'}",
                "NANOSCALE_SECRET_KEY": generate_key(),
                "NANOSCALE_GIT_ALLOWED_HOSTS": ",".join(git_hosts),
                "NANOSCALE_WORKER_ENABLED": "true",
                "NANOSCALE_RUNTIME": "process",
                "NANOSCALE_PROXY": "none",
                "NANOSCALE_DRAIN_SECONDS": "0.2",
                "NANOSCALE_WORKER_POLL_SECONDS": "0.1",
            },
        )


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
