"""The GitHub path with JavaScript turned off: every step is a plain form or link (connect,
install, switch source, search, page, refresh, select, pick the branch, create and deploy)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.github_stack import GitHubStack, connect_github, github_stack
from tests.e2e.harness import create_admin, log_in, screenshot
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator

pytestmark = pytest.mark.browser
ADMIN = ("admin", "correct horse battery staple")


@pytest.fixture
def stack(github_sim: GitHubSimulator, github_served: ServedSimulator) -> Iterator[GitHubStack]:
    with github_stack(github_sim, github_served) as built:
        yield built


@pytest.fixture
def page(browser: Browser, stack: GitHubStack) -> Iterator[Page]:
    context = browser.new_context(
        base_url=stack.server.url, viewport={"width": 1280, "height": 860},
        java_script_enabled=False,
    )  # fmt: skip
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def reload_until_live(page: Page) -> None:
    """Without JavaScript nothing polls: the user reloads (bounded wait, not a timing check)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        page.reload()
        if page.locator("[data-current-commit]").count():
            return
        time.sleep(1)
    raise AssertionError(page.locator("main").inner_text())


def test_github_project_can_be_created_without_javascript(page: Page, stack: GitHubStack) -> None:
    create_admin(stack.server, *ADMIN)
    log_in(page, *ADMIN)
    connect_github(page, stack, shots="ghn")
    page.goto("/projects/new")
    page.get_by_label("Source").select_option("github")
    page.get_by_role("button", name="Switch source").click()
    expect(page).to_have_url(re.compile(r"source=github"))
    expect(page.locator("[data-repo]")).to_have_count(10)
    page.locator("[data-next-page]").click()  # a plain link to the next page
    expect(page.locator("[data-repo]")).to_have_count(4)
    page.get_by_role("button", name="Refresh list").click()
    expect(page).to_have_url(re.compile(r"synced=1"))
    page.get_by_label("Search repositories").fill("app")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("[data-repo]")).to_have_count(1)
    page.locator("[data-select-repo='octo-alice/app']").click()
    expect(page.get_by_label("Branch")).to_have_value("main")
    page.get_by_label("Install command").fill("")
    page.get_by_label("Build command").fill("")
    page.get_by_label("Start command").fill("python3 app.py")
    screenshot(page, "ghn-06-no-js-form")
    page.get_by_role("button", name="Create and deploy").click()
    page.wait_for_url(re.compile(r"/projects/[0-9a-f]+$"))
    reload_until_live(page)
    expect(page.locator("[data-repo-link]")).to_have_text("octo-alice/app")
    screenshot(page, "ghn-07-live")
