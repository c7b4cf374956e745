"""Live feedback while a deployment runs: the log streams into the page over SSE, and a
running build can be cancelled. Builds wait on a flag file, so nothing depends on timing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import FIXTURE_APPS
from tests.e2e.harness import (
    NanoScaleServer,
    create_admin,
    log_in,
    screenshot,
    wait_for_deployment_end,
)
from tests.support.deploy import traversable_dir
from tests.support.git_server import GitServer, Repo

pytestmark = pytest.mark.browser

ADMIN = ("ops", "ops password 789")


@pytest.fixture(scope="module", autouse=True)
def admin(server: NanoScaleServer) -> None:
    create_admin(server, *ADMIN)


@pytest.fixture
def flag_dir() -> Iterator[Path]:
    with traversable_dir("nanoscale-flags-") as path:  # the build's project user checks it
        yield path


def gated_repo(git_server: GitServer, name: str, flag: Path) -> Repo:
    """The Python app plus a build that waits until `flag` exists."""
    repo = git_server.create_repo(name)
    # One line, then silence until the flag: the log writer stores buffered output within a
    # bounded time even when nothing more is written, so the line shows while the build waits.
    script = f"echo build-started\nwhile [ ! -e {flag} ]; do sleep 0.1; done\necho build-finished\n"
    repo.commit_tree(FIXTURE_APPS / "python", "Gated build", extra={"build.sh": script})
    return repo


def create_project(page: Page, repo: Repo, name: str) -> None:
    page.goto("/projects/new")
    page.get_by_label("Repository URL").fill(repo.url)
    page.get_by_label("Project name").fill(name)
    page.get_by_label("Build command").fill("sh build.sh")
    page.get_by_label("Start command").fill("python3 app.py")
    page.get_by_role("button", name="Create and deploy").click()
    expect(page).to_have_url(re.compile(r"/projects/[0-9a-f]+$"))


def test_build_log_streams_into_the_page_while_the_deployment_runs(
    page: Page, git_server: GitServer, flag_dir: Path
) -> None:
    flag = flag_dir / "go"
    log_in(page, *ADMIN)
    create_project(page, gated_repo(git_server, "streamed", flag), "dash-streamed")
    page.get_by_role("link", name="Logs", exact=True).click()
    log = page.locator("pre.log")
    expect(log).to_have_attribute("data-log-state", "streaming")
    expect(log).to_contain_text("build-started")
    screenshot(page, "14-project-logs-streaming")

    flag.touch()
    # No reload on this tab: these lines can only arrive through the event stream.
    expect(log).to_contain_text("build-finished")
    expect(log).to_contain_text("is live")
    expect(log).to_have_attribute("data-log-state", "done")
    expect(page.locator("[data-log-status]")).to_have_text("live")


def test_cancel_stops_a_running_build(page: Page, git_server: GitServer, flag_dir: Path) -> None:
    log_in(page, *ADMIN)
    create_project(page, gated_repo(git_server, "cancelled", flag_dir / "never"), "dash-cancelled")
    expect(page.locator("[data-step=build]")).to_have_attribute("data-step-state", "running")
    page.get_by_role("button", name="Cancel deployment").click()
    expect(page.locator("[data-deployment-state]")).to_have_attribute(
        "data-deployment-state", "cancelled", timeout=60_000
    )
    expect(page.locator("[data-step=build]")).to_have_attribute("data-step-state", "cancelled")
    expect(page.get_by_role("button", name="Cancel deployment")).to_have_count(0)


def test_app_output_keeps_the_earlier_release_above_a_separator_after_a_redeploy(
    page: Page, git_server: GitServer
) -> None:
    repo = git_server.create_repo("chatty")
    repo.commit_tree(FIXTURE_APPS / "python", "Chatty app")
    log_in(page, *ADMIN)
    page.goto("/projects/new")
    page.get_by_label("Repository URL").fill(repo.url)
    page.get_by_label("Project name").fill("dash-chatty")
    page.get_by_label("Start command").fill("python3 chatty.py")
    page.get_by_role("button", name="Create and deploy").click()
    assert wait_for_deployment_end(page) == "live"
    page.get_by_role("link", name="Logs", exact=True).click()
    app_log = page.locator("pre.app-log")
    expect(app_log).to_contain_text("chatty app on")
    # The page may show the output before the stream's first event names the release.
    expect(app_log).to_have_attribute("data-app-log-release", re.compile(r"\w+"))
    first_release = app_log.get_attribute("data-app-log-release")
    assert first_release

    # Redeploy from a second tab: this one stays open and hears of it only over SSE.
    other = page.context.new_page()
    other.goto(page.url.removesuffix("/logs"))
    other.get_by_role("button", name="Redeploy").click()
    assert wait_for_deployment_end(other) == "live"
    other.close()

    expect(app_log).not_to_have_attribute("data-app-log-release", first_release)
    # The first release's output, the separator, then the new release's own output.
    separator = r"─+ next release \(deployment \w+\) ─+"
    expect(app_log).to_contain_text(
        re.compile(rf"chatty app on \d+\n(.|\n)*\n{separator}\nchatty app on \d+")
    )
    screenshot(page, "19-project-logs-after-redeploy")
