"""Browser fixtures: one Chromium per session, a fresh context (cookies) per test, a real
NanoScale server and a fixture Git repository per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS, NanoScaleServer
from tests.support.deploy import traversable_dir
from tests.support.git_server import GitServer, Repo

FIXTURE_APPS = Path(__file__).resolve().parents[1] / "fixtures" / "apps"
# Deployments run real git, builds and health checks: give page expectations room on a busy
# two-core machine (a readiness bound, not a speed assertion).
expect.set_options(timeout=30_000)


# Package scope: one browser for all of tests/e2e, closed before other packages run, since
# a live sync Playwright keeps an asyncio loop running that later asyncio users trip over.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    with GitServer(tmp_path_factory.mktemp("git")) as server:
        yield server


@pytest.fixture(scope="module")
def app_repo(git_server: GitServer) -> Repo:
    """The Python fixture app, committed once; tests add commits to redeploy."""
    repo = git_server.create_repo("webapp")
    repo.commit_tree(FIXTURE_APPS / "python", "Initial release of the web app")
    return repo


@pytest.fixture(scope="module")
def server(git_server: GitServer) -> Iterator[NanoScaleServer]:
    # Builds and releases run as per-project users when the suite runs as root: they must be
    # able to pass through the data dir (pytest's own temp dirs are 0700).
    with (
        traversable_dir("nanoscale-e2e-") as root,
        NanoScaleServer(root, git_hosts=[git_server.host]) as srv,
    ):
        yield srv


@pytest.fixture
def page(browser: Browser, server: NanoScaleServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()
