"""In Chromium: an admin on a fresh NanoScale creates the GitHub App from /settings through
the simulator's manifest pages and lands back on /settings with the App in force."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, sync_playwright

from nanoscale.app import create_app
from nanoscale.settings import Settings
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.support.api import fast_password_hashing
from tests.support.github_app import PASSWORD, GitHubHarness, github_harness

__all__ = ["fast_password_hashing"]
pytestmark = [pytest.mark.usefixtures("fast_password_hashing"), pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
NO_APP: dict[str, Any] = {
    "github_app_id": None, "github_app_client_id": None, "github_app_client_secret": None,
    "github_app_private_key_path": None, "github_webhook_secret": None,
}  # fmt: skip


@pytest.fixture
def served(
    make_settings: Callable[..., Settings],
    database_url: str,
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
) -> Iterator[tuple[GitHubHarness, str]]:
    """A fresh NanoScale (no App) served on a real loopback port the browser can reach."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    overrides = {"public_base_url": base, "allowed_hosts": "testserver,127.0.0.1", **NO_APP}
    with github_harness(
        make_settings, github_sim, github_served, database_url=database_url, **overrides
    ) as gh:
        gh.person("alice")  # first-run setup: alice is the admin
        app = create_app(gh.settings, context=gh.ctx)
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", ws="none", http="h11", access_log=False
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            yield gh, base
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_an_admin_creates_the_github_app_from_settings_in_a_browser(
    served: tuple[GitHubHarness, str], page: Page
) -> None:
    gh, base = served
    # The browser is signed in to (simulated) GitHub as octo-alice.
    page.context.add_cookies(
        [{"name": "gh_sim_login", "value": "octo-alice", "url": gh.served.base_url}]
    )
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)

    page.goto(f"{base}/settings")
    page.get_by_role("button", name="Create GitHub App").click()
    page.get_by_role("button", name="Continue on GitHub").click()
    page.wait_for_url(f"{gh.served.base_url}/settings/apps/new")
    page.click("#create-app")
    page.wait_for_url(f"{base}/settings?**")
    assert "github=app_created" in page.url
    assert page.locator("[data-github-app-source=database]").is_visible()
    assert gh.ctx.settings.github_configured
