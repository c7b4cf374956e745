"""The plan's §11.2 dashboard checks in Chromium: the source selector switches modes and posts
the GitHub payload (ids and branch, no URL), the private repository is listed and selectable,
the list pages and filters in place, a second NanoScale user sees none of the first user's
repositories, callback errors and disconnecting land on readable pages, and the GitHub pages
fit a 390 px phone screen. No response carries a token or secret."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.e2e.github_stack import GitHubStack, ResponseLog, connect_github, github_stack
from tests.e2e.harness import create_admin, log_in, screenshot
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator

pytestmark = pytest.mark.browser
ADMIN = ("admin", "correct horse battery staple")
MEMBER = ("member", "another horse battery staple")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def stack(github_sim: GitHubSimulator, github_served: ServedSimulator) -> Iterator[GitHubStack]:
    with github_stack(github_sim, github_served) as built:
        yield built


def new_context(browser: Browser, stack: GitHubStack) -> BrowserContext:
    context = browser.new_context(
        base_url=stack.server.url, viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(30_000)
    return context


def fits_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def check_source_switch_and_payload(page: Page, stack: GitHubStack) -> None:
    page.goto("/projects/new")
    expect(page.get_by_label("Repository URL")).to_be_visible()
    page.get_by_label("Source").select_option("github")
    page.wait_for_url(re.compile(r"source=github"))
    expect(page.get_by_label("Repository URL")).to_have_count(0)
    expect(page.locator("[data-adjust-access]")).to_have_text(
        "Repository not listed? Adjust access on GitHub"
    )
    # 14 repositories, 10 a page: the next page swaps in place.
    expect(page.locator("[data-repo]")).to_have_count(10)
    page.locator("[data-next-page]").click()
    expect(page.locator("[data-repo]")).to_have_count(4)
    expect(page).to_have_url(re.compile(r"source=github"))  # htmx: no navigation
    page.get_by_label("Search repositories").fill("APP")  # case-insensitive
    expect(page.locator("[data-repo]")).to_have_count(1)
    expect(page.locator("[data-repo='octo-alice/app'] [data-private]")).to_have_text("private")
    page.locator("[data-select-repo='octo-alice/app']").click()
    expect(page.get_by_label("Branch")).to_have_value("main")
    screenshot(page, "ghp-01-selected")

    posted: list[str] = []

    def capture(route: Route) -> None:
        if route.request.method == "POST":
            posted.append(route.request.post_data or "")
            route.abort()
        else:
            route.continue_()

    page.route("**/projects/new", capture)
    page.get_by_label("Start command").fill("python3 app.py")
    page.get_by_role("button", name="Create and deploy").click()
    page.wait_for_timeout(500)  # lets the aborted request settle; not a timing assertion
    page.unroute("**/projects/new")
    assert len(posted) == 1
    form = parse_qs(posted[0])
    assert form["source"] == ["github"]
    assert form["repo_id"] == [str(stack.app_repo.id)]
    assert form["installation_id"][0].isdigit()
    assert form["branch"] == ["main"]
    assert "repo_url" not in form

    page.goto("/projects/new?source=github")  # the aborted post left an error page
    page.get_by_label("Source").select_option("manual")
    page.wait_for_url(re.compile(r"source=manual"))
    expect(page.get_by_label("Repository URL")).to_be_visible()


def check_phone_width(page: Page) -> None:
    page.set_viewport_size(PHONE)
    for path, name in [("/settings", "ghp-02-phone-settings"),
                       ("/projects/new?source=github", "ghp-03-phone-picker")]:  # fmt: skip
        page.goto(path)
        screenshot(page, name)
        assert fits_width(page), f"{path} overflows a 390 px screen"
    page.set_viewport_size({"width": 1280, "height": 860})


def check_second_user_sees_nothing(browser: Browser, stack: GitHubStack, admin: Page) -> None:
    admin.goto("/settings")
    admin.get_by_label("Username").fill(MEMBER[0])
    admin.get_by_label("Initial password").fill(MEMBER[1])
    admin.get_by_role("button", name="Add user").click()
    expect(admin.locator("[data-user-row=member]")).to_be_visible()
    context = new_context(browser, stack)
    try:
        page = context.new_page()
        log_in(page, *MEMBER)
        page.goto("/projects/new?source=github")
        expect(page.get_by_role("button", name="Connect GitHub")).to_be_visible()
        assert "octo-alice" not in page.content()
        # Connected as another GitHub user, still nothing of octo-alice's, even by id.
        connect_as_bob(page, stack)
        page.goto("/projects/new?source=github")
        expect(page.locator("[data-github-no-installations]")).to_be_visible()
        screenshot(page, "ghp-04-second-user")
        installation_id = next(iter(stack.sim.state.installations))
        answer = page.request.get(f"/projects/new/github/repos?installation_id={installation_id}")
        # The partial answers in place (htmx swaps 2xx only) with the reason, and nothing else.
        assert "not accessible to your GitHub account" in answer.text()
        assert "octo-alice" not in answer.text()
        assert "data-repo=" not in answer.text()
        assert "octo-alice" not in page.content()
    finally:
        context.close()


def connect_as_bob(page: Page, stack: GitHubStack) -> None:
    page.goto("/settings")
    page.get_by_role("button", name="Connect GitHub").click()
    page.wait_for_url(f"{stack.served.base_url}/login/oauth/authorize?**")
    page.select_option("select[name=login]", "octo-bob")
    page.click("button[value=authorize]")
    page.wait_for_url(re.compile(r"/settings\?github=connected"))
    expect(page.locator("[data-github-login]")).to_have_text("octo-bob")


def check_callback_error_and_disconnect(page: Page) -> None:
    page.goto("/api/integrations/github/callback?state=forged-state&code=whatever")
    expect(page).to_have_url(re.compile(r"/settings\?"))
    expect(page.locator("[data-github-error]")).to_contain_text("Start again")
    screenshot(page, "ghp-05-callback-error")
    page.goto("/api/integrations/github/setup?installation_id=not-a-number")
    expect(page.locator("[data-github-error]")).to_contain_text("could not read")
    assert "{" not in page.locator("main").inner_text()  # a page, not the API's JSON
    page.get_by_text("Disconnect GitHub", exact=True).first.click()  # opens the details
    expect(page.get_by_text("What stops working:")).to_be_visible()
    page.get_by_label("I understand pushes will stop deploying").check()
    page.locator("[data-github-disconnect]").click()
    page.wait_for_url(re.compile(r"/settings\?github=disconnected"))
    expect(page.locator("[data-github-card]")).to_have_attribute(
        "data-github-state", "disconnected"
    )
    page.goto("/projects/new?source=github")
    expect(page.get_by_role("button", name="Connect GitHub")).to_be_visible()
    expect(page.locator("[data-github-picker]")).to_have_count(0)
    screenshot(page, "ghp-06-disconnected-fallback")


def test_github_picker_modes_isolation_errors_and_phone_layout(
    browser: Browser, stack: GitHubStack
) -> None:
    create_admin(stack.server, *ADMIN)
    context = new_context(browser, stack)
    responses = ResponseLog(stack.server.url)
    try:
        page = context.new_page()
        responses.attach(page)
        log_in(page, *ADMIN)
        connect_github(page, stack, shots="ghp")
        check_source_switch_and_payload(page, stack)
        check_phone_width(page)
        check_second_user_sees_nothing(browser, stack, page)
        check_callback_error_and_disconnect(page)
        leaks = responses.leaks(stack.secrets())
        assert responses.responses and not leaks, leaks
    finally:
        context.close()


def test_without_a_github_app_the_dashboard_says_how_to_set_it_up(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.e2e.harness import NanoScaleServer
    from tests.support.deploy import traversable_dir

    with traversable_dir("nanoscale-e2e-nogh-") as root, NanoScaleServer(root, git_hosts=[]) as srv:
        create_admin(srv, *ADMIN)
        context = browser.new_context(base_url=srv.url, viewport=PHONE)
        try:
            page = context.new_page()
            # Signed out, GitHub's redirect back lands on a readable page, not on JSON.
            answer = page.goto("/api/integrations/github/callback?state=s&code=c")
            assert answer is not None and answer.status == 401
            assert answer.headers["content-type"].startswith("text/html")
            expect(page.locator("h1")).to_be_visible()
            log_in(page, *ADMIN)
            page.goto("/settings")
            expect(page.locator("[data-github-unconfigured]")).to_be_visible()
            expect(page.get_by_text("NANOSCALE_GITHUB_APP_ID")).to_be_visible()
            page.goto("/projects/new?source=github")
            expect(page.locator("[data-github-unconfigured]")).to_be_visible()
            expect(page.get_by_role("button", name="Create and deploy")).to_have_count(0)
            assert fits_width(page)
            screenshot(page, "ghp-07-not-configured")
            page.get_by_label("Source").select_option("manual")
            expect(page.get_by_label("Repository URL")).to_be_visible()
            with httpx.Client(base_url=srv.url) as client:
                assert client.get("/settings", follow_redirects=False).status_code == 303
        finally:
            context.close()
