"""A real browser clicks through the simulator's consent and installation pages."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from tests.fakes.github import GitHubSimulator, ServedSimulator
from tests.fakes.github.testkit import Pkce, exchange, query_of

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.mark.browser
def test_browser_authorizes_and_installs_with_only_selected_repositories(
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
    github_web: httpx.Client,
    page: Page,
) -> None:
    base = github_served.base_url
    alice = github_sim.add_user("alice")
    github_sim.add_user("bob")
    wanted = github_sim.add_repo(alice, "wanted", private=True, files={})
    github_sim.add_repo(alice, "unwanted", private=True, files={})
    # Callback and setup land on the simulator's own 404 page; only the URL matters here.
    app = github_sim.add_app(
        alice, "nanoscale", callback_urls=[f"{base}/cb"], setup_url=f"{base}/setup"
    )
    pkce = Pkce.new()
    page.goto(
        f"{base}/login/oauth/authorize?client_id={app.client_id}&state=s1"
        f"&code_challenge={pkce.challenge}&code_challenge_method=S256"
    )
    page.select_option("select[name=login]", "alice")
    page.click("button[value=authorize]")
    page.wait_for_url(f"{base}/cb?**")
    back = query_of(page.url)
    assert back["state"] == "s1"
    tokens = exchange(github_web, app, code=back["code"], code_verifier=pkce.verifier)
    assert tokens["access_token"].startswith("ghu_")

    # The consent step left a session cookie: the install page knows who is signed in.
    page.goto(f"{base}/apps/{app.slug}/installations/new")
    page.click("a.account[data-login=alice]")
    page.check("input[name=repository_selection][value=selected]")
    page.check(f"input[name=repository_ids][value='{wanted.id}']")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/setup?**")
    setup = query_of(page.url)
    assert setup["setup_action"] == "install"
    inst = github_sim.state.installations[int(setup["installation_id"])]
    assert [r.name for r in github_sim.state.installation_repos(inst)] == ["wanted"]
