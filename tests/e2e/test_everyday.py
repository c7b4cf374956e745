"""Everyday use in a real browser: mistakes caught at creation (all at once, repository and
branch checked against the Git server), settings edited after creation with *Save and
redeploy*, Git hosts and API tokens from the Settings page, the rollback list, the delete
form, and every page at phone width without horizontal overflow."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import FIXTURE_APPS
from tests.e2e.harness import (
    NanoScaleServer,
    create_admin,
    log_in,
    screenshot,
    wait_for_deployment_end,
)
from tests.support.git_server import GitServer, Repo

pytestmark = pytest.mark.browser

ADMIN = ("ops", "ops password 12345")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module", autouse=True)
def admin(server: NanoScaleServer) -> None:
    create_admin(server, *ADMIN)


@pytest.fixture(scope="module")
def repo(git_server: GitServer) -> Repo:
    repo = git_server.create_repo("everyday")
    repo.commit_tree(FIXTURE_APPS / "python", "First release")
    return repo


def fits_the_width(page: Page) -> None:
    """Nothing makes the page scroll sideways."""
    sizes = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth, location.pathname]"
    )
    assert sizes[0] <= sizes[1], f"{sizes[2]} is {sizes[0]}px wide in a {sizes[1]}px window"


def create_form(page: Page, repo_url: str, name: str, branch: str = "main") -> None:
    page.goto("/projects/new")
    page.get_by_label("Repository URL").fill(repo_url)
    page.get_by_label("Branch").fill(branch)
    page.get_by_label("Project name").fill(name)
    page.get_by_label("Install command").fill("")
    page.get_by_label("Start command").fill("python3 app.py")


def test_the_new_project_form_reports_every_mistake_at_once(page: Page, repo: Repo) -> None:
    log_in(page, *ADMIN)
    page.goto("/projects/new")
    # One visible "Source" (the legend); the select keeps it as its accessible name.
    expect(page.get_by_label("Source")).to_have_value("manual")
    shown = page.evaluate(
        """() => [...document.querySelectorAll("main legend, main label")]
            .filter((el) => el.textContent.trim() === "Source")
            .filter((el) => el.getBoundingClientRect().width > 1).length"""
    )
    assert shown == 1
    expect(page.get_by_text("Leave a value empty to keep it")).to_have_count(0)
    expect(page.locator("#h-repo_url")).to_contain_text("127.0.0.1:PORT")
    page.get_by_label("Repository URL").fill("https://evil.example/o/r.git")
    page.get_by_label("Branch").fill("bad..branch")
    page.get_by_label("Project name").fill("Not A Label")
    page.get_by_label("Health check path").fill("health")
    page.locator("#env-nk-0").fill("NEEDS_VALUE")
    page.get_by_role("button", name="Create and deploy").click()
    for name in ("repo_url", "branch", "name", "health_check_path"):
        expect(page.locator(f"#f-{name}")).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#e-{name}")).to_be_visible()
    expect(page.get_by_text("give NEEDS_VALUE a value")).to_be_visible()
    screenshot(page, "20-new-project-all-errors")


def test_a_missing_branch_is_caught_before_the_project_exists(page: Page, repo: Repo) -> None:
    log_in(page, *ADMIN)
    create_form(page, repo.url, "no-such-branch", branch="release/1")
    page.get_by_role("button", name="Create and deploy").click()
    expect(page.locator("#e-branch")).to_contain_text("no branch 'release/1'")
    page.goto("/projects")
    expect(page.get_by_role("link", name="no-such-branch")).to_have_count(0)


def test_settings_edit_the_source_save_and_redeploy_roll_back_and_delete(
    page: Page, repo: Repo
) -> None:
    log_in(page, *ADMIN)
    create_form(page, repo.url, "everyday")
    page.get_by_role("button", name="Create and deploy").click()
    expect(page).to_have_url(re.compile(r"/projects/[0-9a-f]+$"))
    assert wait_for_deployment_end(page) == "live"
    project_url = page.url

    # A branch that does not exist is refused at its field; the saved one stays.
    repo.commit({"version.txt": "v2\n"}, "Second release")
    page.get_by_role("link", name="Settings", exact=True).last.click()
    expect(page.get_by_label("Repository URL")).to_have_value(repo.url)
    page.get_by_label("Branch").fill("gone")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#e-branch")).to_contain_text("no branch 'gone'")
    page.get_by_label("Branch").fill("main")
    page.get_by_label("Health check path").fill("/healthz")
    page.get_by_role("button", name="Save and redeploy").click()
    expect(page).to_have_url(re.compile(r"/deployments/[0-9a-f]+$"))
    assert wait_for_deployment_end(page) == "live"

    # Redeploy the same commit: the rollback list still shows each commit once, never the live one.
    page.goto(project_url)
    page.get_by_role("button", name="Redeploy").click()
    assert wait_for_deployment_end(page) == "live"
    page.goto(project_url)
    live = page.locator("[data-current-commit]").inner_text()
    options = page.locator("#f-rollback option").all_inner_texts()
    assert len(options) == 1, options
    assert not options[0].startswith(live)
    page.set_viewport_size(PHONE)
    fits_the_width(page)
    screenshot(page, "21-overview-rollback-phone")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Roll back").click()
    expect(page).to_have_url(project_url)  # dismissed: nothing happened
    asked: list[str] = []

    def accept(dialog: object) -> None:
        asked.append(dialog.message)  # type: ignore[attr-defined]
        dialog.accept()  # type: ignore[attr-defined]

    page.once("dialog", accept)
    page.get_by_role("button", name="Roll back").click()
    expect(page).to_have_url(re.compile(r"/deployments/[0-9a-f]+$"))
    assert asked and "Roll back" in asked[0]
    assert wait_for_deployment_end(page) == "live"

    # A wrong name is refused next to the field; reloading that page is not a 405.
    page.goto(project_url + "/settings")
    page.get_by_label(re.compile("Type the project name")).fill("every")
    page.get_by_role("button", name="Delete everyday").click()
    expect(page.locator("#e-confirm_name")).to_be_visible()
    expect(page.locator("#e-confirm_name")).to_be_in_viewport()
    page.reload()  # the browser posts the form again: the same answer, no 405
    expect(page.locator("#e-confirm_name")).to_be_visible()
    page.goto(page.url.split("#")[0])  # the address opened again (GET): back to the form
    expect(page).to_have_url(re.compile(r"/settings(#delete)?$"))  # GET: no 405 page
    expect(page.get_by_role("button", name="Delete everyday")).to_be_visible()


def test_env_rows_stay_aligned_when_a_hint_appears(page: Page, repo: Repo) -> None:
    log_in(page, *ADMIN)
    page.goto("/projects/new")
    page.get_by_label("Repository URL").fill(repo.url)
    page.get_by_label("Project name").fill("Bad Name")
    page.locator("#env-nk-0").fill("TOKEN")
    page.locator("#env-nv-0").fill("value")
    page.get_by_role("button", name="Create and deploy").click()
    expect(page.locator("#h-env-tv-1")).to_be_visible()  # "re-enter the value"
    name_box = page.locator("#env-tk-1").bounding_box()
    value_box = page.locator("#env-tv-1").bounding_box()
    assert name_box and value_box
    assert abs(name_box["y"] - value_box["y"]) < 1


def test_api_tokens_are_created_once_copied_used_and_revoked(
    browser: Browser, server: NanoScaleServer
) -> None:
    context = browser.new_context(base_url=server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    try:
        log_in(page, *ADMIN)
        page.goto("/settings")
        page.get_by_label("Token name").fill("ci-deploy")
        page.get_by_role("button", name="Create token").click()
        secret = page.get_by_label("New API token").input_value()
        assert secret.startswith("nst_")
        page.get_by_role("button", name="Copy").click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("() => navigator.clipboard.readText()") == secret
        screenshot(page, "22-settings-token-created")

        with httpx.Client(base_url=server.url, trust_env=False) as script:
            bearer = {"Authorization": f"Bearer {secret}"}
            assert script.get("/api/projects", headers=bearer).status_code == 200
            page.goto("/settings")
            expect(page.get_by_label("New API token")).to_have_count(0)  # shown once only
            row = page.locator('[data-token-row="ci-deploy"]')
            expect(row.locator("[data-last-used]")).to_contain_text("UTC")
            page.once("dialog", lambda dialog: dialog.accept())
            row.get_by_role("button", name=re.compile("Revoke")).click()
            expect(page.get_by_role("status")).to_contain_text("revoked")
            assert script.get("/api/projects", headers=bearer).status_code == 401
    finally:
        context.close()


def test_an_admin_allows_a_git_host_without_a_restart(page: Page) -> None:
    log_in(page, *ADMIN)
    page.goto("/settings")
    page.get_by_label("Allow another Git host").fill("https://git.example.com/x")
    page.get_by_role("button", name="Allow host").click()
    expect(page.locator("#e-host")).to_be_visible()
    page.get_by_label("Allow another Git host").fill("git.example.com")
    page.get_by_role("button", name="Allow host").click()
    expect(page.locator('[data-git-host="git.example.com"]')).to_be_visible()
    page.goto("/projects/new")
    expect(page.locator("#h-repo_url")).to_contain_text("git.example.com")


def test_every_page_fits_a_phone_screen(page: Page, repo: Repo) -> None:
    log_in(page, *ADMIN)
    page.set_viewport_size(PHONE)
    page.goto("/projects")
    page.get_by_role("link", name="everyday").click()
    project = page.url
    deployment = page.locator("h2 a.mono").first.get_attribute("href")
    pages = {
        "overview": "/",
        "projects": "/projects",
        "project-new": "/projects/new",
        "project-overview": project,
        "project-deployments": project + "/deployments",
        "project-logs": project + "/logs",
        "project-settings": project + "/settings",
        "deployment": deployment,
        "settings": "/settings",
    }
    for name, url in pages.items():
        assert url
        page.goto(url)
        fits_the_width(page)
        screenshot(page, f"30-phone-{name}")
        tabs = page.locator("nav.tabs")
        if tabs.count():  # the project tabs all show, none scrolled out of sight
            assert tabs.evaluate("(el) => el.scrollWidth <= el.clientWidth"), name


def test_the_favicon_is_linked_and_served(page: Page, server: NanoScaleServer) -> None:
    page.goto("/login")
    href = page.locator('link[rel="icon"]').get_attribute("href")
    assert href
    with httpx.Client(base_url=server.url, trust_env=False) as client:
        assert client.get(href).headers["content-type"].startswith("image/svg+xml")
        assert client.get("/favicon.ico", follow_redirects=True).status_code == 200
