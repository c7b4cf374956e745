"""The main story in a real browser against a real server and deploy engine: set up, log in,
create a project from a Git repository, watch it go live, open it, redeploy, read the
history, roll back, delete."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.harness import log_in, screenshot, wait_for_deployment_end
from tests.support.git_server import Repo

pytestmark = pytest.mark.browser

ADMIN = ("admin", "correct horse battery staple")
SECRET_VALUE = "s3cret-value-never-shown"


def app_url(page: Page) -> str:
    url = page.locator("[data-app-url]").get_attribute("href")
    assert url, "the project page shows no app URL"
    return url


def app_says(page: Page) -> str:
    """What the deployed app answers at the project's URL (read from the page's link)."""
    with httpx.Client(trust_env=False) as client:
        return client.get(app_url(page), timeout=10).text.strip()


def expect_live(page: Page) -> None:
    state = wait_for_deployment_end(page)
    assert state == "live", page.locator("main").inner_text()


def set_up_and_log_in(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    screenshot(page, "01-setup")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password", exact=True).fill(ADMIN[1])
    page.get_by_label("Repeat password").fill(ADMIN[1])
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    screenshot(page, "02-login")
    log_in(page, *ADMIN)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    screenshot(page, "03-overview-empty")


def create_project(page: Page, repo: Repo) -> None:
    page.get_by_role("link", name="Projects", exact=True).click()
    expect(page.get_by_text("No projects yet")).to_be_visible()
    screenshot(page, "04-projects-empty")
    page.get_by_role("link", name="Create a project").click()
    expect(page.get_by_label("Source")).to_have_value("manual")
    page.get_by_label("Repository URL").fill(repo.url)
    page.get_by_label("Project name").fill("dash-story")
    page.get_by_label("Preset").select_option("python")
    expect(page.get_by_label("Start command")).to_have_value(".venv/bin/python app.py")
    # The fixture app has no dependencies and so no requirements.txt: no install, no venv.
    page.get_by_label("Install command").fill("")
    page.get_by_label("Start command").fill("python3 chatty.py")  # prints each request
    page.locator("#env-nk-0").fill("API_TOKEN")
    page.locator("#env-nv-0").fill(SECRET_VALUE)
    screenshot(page, "05-project-new")
    page.get_by_role("button", name="Create and deploy").click()


def edit_settings(page: Page) -> None:
    """A bad domain is reported at its field; a good one saves; env values stay write-only."""
    page.get_by_label("Custom domain").fill("localhost")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_label("Custom domain")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-domain")).to_contain_text("not a valid hostname")
    page.get_by_label("Custom domain").fill("shop.example.com")
    page.get_by_label("New value").fill("rotated-" + SECRET_VALUE)
    page.locator("#env-nk-0").fill("FEATURE_FLAG")
    page.locator("#env-nv-0").fill("on")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    expect(page.get_by_label("Custom domain")).to_have_value("shop.example.com")
    keys = page.locator("input[name=env_key][readonly]")
    expect(keys).to_have_count(2)
    assert SECRET_VALUE not in page.content()


def look_around(page: Page) -> None:
    """The overview and project list with data, in the light theme and on a phone."""
    page.get_by_role("link", name="Projects", exact=True).click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator(".badge-live")).to_have_text("Live")
    screenshot(page, "15-projects-list")
    page.get_by_role("link", name="Overview", exact=True).first.click()
    expect(page.locator("[data-count=live]")).to_have_text("1")
    expect(page.locator("tbody tr")).to_have_count(3)
    screenshot(page, "16-overview")
    page.get_by_role("button", name="Light theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    screenshot(page, "17-overview-light")
    page.reload()  # the choice is remembered
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.get_by_role("button", name="Dark theme").click()
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "18-overview-phone")
    page.set_viewport_size({"width": 1280, "height": 860})


def test_admin_deploys_redeploys_rolls_back_and_deletes_a_project(
    page: Page, app_repo: Repo
) -> None:
    first_sha = app_repo.head()
    set_up_and_log_in(page)
    create_project(page, app_repo)

    # The steps update in place (htmx) until the release is live; no reload happens here.
    expect(page.get_by_role("heading", name=re.compile("dash-story"))).to_be_visible()
    expect_live(page)
    for step in page.locator("[data-step]").all():
        expect(step).to_have_attribute("data-step-state", "done")
    expect(page.locator("[data-current-commit]")).to_have_text(first_sha[:7])
    # Read from the fetched commit itself.
    expect(page.locator("[data-current-message]")).to_have_text("Initial release of the web app")
    screenshot(page, "06-project-overview-live")
    assert app_says(page).endswith(first_sha)

    second_sha = app_repo.commit({"version.txt": "v2\n"}, "Ship version two")
    page.get_by_role("button", name="Redeploy").click()
    expect(page).to_have_url(re.compile(r"/deployments/[0-9a-f]+$"))
    expect_live(page)
    expect(page.locator("pre.log")).not_to_be_empty()
    screenshot(page, "07-deployment-log")
    assert app_says(page) == f"v2 {second_sha}"

    page.get_by_role("link", name="Deployments", exact=True).click()
    rows = page.locator("[data-deployment-row]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(second_sha[:7])
    expect(rows.first.locator("[data-commit-message]")).to_have_text("Ship version two")
    expect(rows.last).to_contain_text(first_sha[:7])
    screenshot(page, "08-project-deployments")
    rows.last.get_by_role("link").click()
    expect(page.locator("[data-step]")).to_have_count(4)

    page.get_by_role("link", name="Overview", exact=True).last.click()
    page.get_by_label("Deployment to roll back to").select_option(index=0)
    page.once("dialog", lambda dialog: dialog.accept())  # "Roll back to the selected commit?"
    page.get_by_role("button", name="Roll back").click()
    expect_live(page)
    assert app_says(page).endswith(first_sha)
    page.get_by_role("link", name="Deployments", exact=True).click()
    expect(page.locator("[data-deployment-row]").first).to_contain_text("rollback")

    look_around(page)
    page.get_by_role("link", name="Projects", exact=True).click()
    page.get_by_role("link", name="dash-story").click()
    page.get_by_role("link", name="Logs", exact=True).click()
    expect(page.locator("pre.log")).not_to_be_empty()
    app_log = page.locator("pre.app-log")
    expect(app_log).to_contain_text("chatty app on")
    with httpx.Client(trust_env=False) as client:  # after the page loaded: arrives over SSE
        client.get(app_url(page) + "/seen-in-the-logs-tab", timeout=10).raise_for_status()
    expect(app_log).to_contain_text("request /seen-in-the-logs-tab")
    screenshot(page, "09-project-logs")

    page.get_by_role("link", name="Settings", exact=True).last.click()
    expect(page.locator("input[name=env_key][readonly]")).to_have_value("API_TOKEN")
    assert SECRET_VALUE not in page.content()
    screenshot(page, "10-project-settings")
    edit_settings(page)

    page.get_by_label(re.compile("Type the project name")).fill("dash")
    page.get_by_role("button", name="Delete dash-story").click()
    expect(page.get_by_text("type the project's name exactly")).to_be_visible()
    url = app_url(page)
    page.get_by_label(re.compile("Type the project name")).fill("dash-story")
    page.get_by_role("button", name="Delete dash-story").click()
    expect(page).to_have_url(re.compile(r"/projects\?deleted=1$"))
    expect(page.get_by_text("No projects yet")).to_be_visible()
    with httpx.Client(trust_env=False) as client, pytest.raises(httpx.TransportError):
        client.get(url, timeout=5)  # the app was stopped with its project
