"""The plan's §11.3 checklist in Chromium against the served GitHub simulator and a real
`nanoscale serve`: connect GitHub by clicking through GitHub's authorize and install pages,
pick the private repository and deploy it, push to the selected branch and watch the new
deployment go live without reloading, push to another branch and read why nothing deployed,
delete the project and see on GitHub that its webhook is gone. Every response the browser
received on the way is scanned for tokens and secrets."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.github_stack import GitHubStack, ResponseLog, connect_github, github_stack
from tests.e2e.harness import create_admin, log_in, screenshot
from tests.fakes.github import gitstore
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.support.github_app import python_app_files

pytestmark = pytest.mark.browser
ADMIN = ("admin", "correct horse battery staple")


@pytest.fixture
def stack(github_sim: GitHubSimulator, github_served: ServedSimulator) -> Iterator[GitHubStack]:
    with github_stack(github_sim, github_served) as built:
        yield built


@pytest.fixture
def page(browser: Browser, stack: GitHubStack) -> Iterator[Page]:
    context = browser.new_context(
        base_url=stack.server.url, viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()


def pick_and_deploy(page: Page, stack: GitHubStack) -> str:
    """New Project → GitHub repository → search → private repo → default branch → deploy."""
    page.goto("/projects/new")
    page.get_by_label("Source").select_option("github")
    page.wait_for_url(re.compile(r"source=github"))
    expect(page.locator("[data-repo=octo-alice\\/app] [data-private]")).to_be_visible()
    # The archived repository is listed, marked, and has no Select button.
    page.get_by_label("Search repositories").fill("old")
    archived = page.locator("[data-repo=octo-alice\\/old-site]")
    expect(archived).to_have_attribute("aria-disabled", "true")
    expect(archived.locator("[data-select-repo]")).to_have_count(0)
    # Debounced search as you type (htmx swaps the list without a page load).
    page.get_by_label("Search repositories").fill("app")
    expect(page.locator("[data-repo]")).to_have_count(1)
    screenshot(page, "gh-06-picker-search")
    page.locator("[data-select-repo='octo-alice/app']").click()
    expect(page.locator("[data-selected-repo]")).to_contain_text("octo-alice/app")
    expect(page.get_by_label("Branch")).to_have_value("main")  # the default, preselected
    page.get_by_label("Install command").fill("")
    page.get_by_label("Build command").fill("")
    page.get_by_label("Start command").fill("python3 app.py")
    screenshot(page, "gh-07-new-project-github")
    page.get_by_role("button", name="Create and deploy").click()
    page.wait_for_url(re.compile(r"/projects/[0-9a-f]+$"))
    expect(page.locator("[data-current-commit]")).to_be_visible(timeout=120_000)
    expect(page.locator("[data-webhook-health]")).to_have_attribute("data-webhook-health", "active")
    screenshot(page, "gh-08-project-live")
    return page.url


def served_version(page: Page) -> str:
    url = page.locator("[data-app-url]").get_attribute("href")
    assert url
    with httpx.Client(trust_env=False) as client:
        return client.get(url, timeout=10).text


def sim_push(stack: GitHubStack, branch: str, version: str, message: str) -> str:
    with httpx.Client(base_url=stack.served.base_url, timeout=30) as sim:
        answer = sim.post(
            "/_sim/repos/octo-alice/app/commit",
            json={"branch": branch, "files": python_app_files(version), "message": message},
        )
        assert answer.status_code == 200, answer.text
        sim.post("/_sim/deliveries/wait", json={"timeout": 30})
    sha = gitstore.resolve(stack.app_repo.path, f"refs/heads/{branch}")
    assert sha is not None
    return sha


def sim_call(stack: GitHubStack, path: str, body: dict[str, str] | None = None) -> None:
    """A lifecycle change on GitHub, once its webhook deliveries are answered."""
    with httpx.Client(base_url=stack.served.base_url, timeout=30) as sim:
        answer = sim.post(path, json=body or {})
        assert answer.status_code == 200, answer.text
        sim.post("/_sim/deliveries/wait", json={"timeout": 30})


def test_github_checklist_connect_deploy_push_delete(page: Page, stack: GitHubStack) -> None:
    responses = ResponseLog(stack.server.url)
    responses.attach(page)
    create_admin(stack.server, *ADMIN)
    log_in(page, *ADMIN)
    connect_github(page, stack, shots="gh")
    # The connected badge shows the GitHub avatar, loaded from the GitHub's avatar origin (the
    # only image origin the dashboard's CSP allows besides its own).
    avatar = page.locator("[data-github-avatar]")
    expect(avatar).to_have_attribute(
        "src", f"{stack.served.base_url}/avatars/u/{stack.alice.id}?v=4"
    )
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-github-avatar]');"
        " return i !== null && i.complete && i.naturalWidth > 0; }"
    )
    screenshot(page, "gh-05b-avatar")
    project_url = pick_and_deploy(page, stack)
    first = page.locator("[data-current-commit]").inner_text()

    # Push to the selected branch: the open page shows the new release without a reload.
    sha = sim_push(stack, "main", "v2", "Ship v2 from a push")
    expect(page.locator("[data-current-commit]")).to_have_text(sha[:7], timeout=120_000)
    assert first != sha[:7]
    expect(page.locator("[data-pusher]").first).to_contain_text("octo-alice")
    expect(page.locator("[data-commit-link]").first).to_have_attribute(
        "href", f"{stack.served.base_url}/octo-alice/app/commit/{sha}"
    )
    assert "v2" in served_version(page)
    screenshot(page, "gh-09-pushed-live")

    # A push to another branch deploys nothing, and the Deliveries tab says why.
    with httpx.Client(base_url=stack.served.base_url, timeout=30) as sim:
        sim.post("/_sim/repos/octo-alice/app/create-branch",
                 json={"name": "feature/x", "from": "main"})  # fmt: skip
    sim_push(stack, "feature/x", "v3", "Work in progress")
    page.goto(f"{project_url}/deliveries")
    skipped = page.locator("[data-delivery-reason]", has_text="feature/x").first
    expect(skipped).to_contain_text("push to feature/x: not the selected branch")
    deployed = page.locator("tr[data-outcome=deployed]").first
    expect(deployed.locator("[data-delivery-deployment]")).to_have_count(1)
    # The repository hook's copy of the main push names the original delivery and links the
    # deployment it caused.
    duplicate = page.locator("tr[data-outcome=duplicate] [data-delivery-reason]").first
    expect(duplicate).to_contain_text("push to main: duplicate of delivery")
    original = deployed.get_attribute("data-delivery") or ""
    expect(duplicate.locator("[data-duplicate-of]")).to_have_attribute(
        "data-duplicate-of", original
    )
    expect(duplicate.locator("[data-delivery-deployment]")).to_have_attribute(
        "href", deployed.locator("[data-delivery-deployment]").get_attribute("href") or ""
    )
    screenshot(page, "gh-10-deliveries")

    # The admin's GitHub health panel: every check green against this GitHub.
    page.goto("/settings")
    page.locator("[data-check-github]").click()
    expect(page.locator("[data-github-health]")).to_have_attribute(
        "data-github-health-result", "ok", timeout=60_000
    )
    expect(page.locator("[data-check='github hook octo-alice/app']")).to_have_attribute(
        "data-check-ok", "true"
    )
    page.locator("[data-github-health]").scroll_into_view_if_needed()
    screenshot(page, "gh-10b-github-health")
    page.goto(f"{project_url}/deployments")
    expect(page.locator("[data-deployment-row]")).to_have_count(2)  # create + the main push

    # A push whose deliveries never arrive: "Check for new commits" deploys it anyway, and a
    # second check finds nothing new.
    with httpx.Client(base_url=stack.served.base_url, timeout=30) as sim:
        sim.post("/_sim/faults", json={"drop_deliveries": 2})  # the App's and the repo's hook
    missed = sim_push(stack, "main", "v4", "Pushed while the webhook was down")
    page.goto(project_url)
    page.locator("[data-check-commits]").click()
    page.wait_for_url(re.compile(r"/deployments/[0-9a-f]+$"))
    expect(page.locator("[data-deployment-state=live]")).to_be_visible(timeout=120_000)
    page.goto(project_url)
    expect(page.locator("[data-current-commit]")).to_have_text(missed[:7])
    page.locator("[data-check-commits]").click()
    expect(page.locator("[data-check-result]")).to_contain_text("Up to date")
    screenshot(page, "gh-11-checked")

    # Lifecycle banners: archived, then the installation suspended (each undone after).
    installation_id = next(iter(stack.sim.state.installations))
    for action, undo, banner in [
        ("/_sim/repos/octo-alice/app/archive", "/_sim/repos/octo-alice/app/unarchive", "archived"),
        (f"/_sim/installations/{installation_id}/suspend",
         f"/_sim/installations/{installation_id}/unsuspend", "suspended"),
    ]:  # fmt: skip
        sim_call(stack, action)
        page.goto(project_url)
        expect(page.locator(f"[data-banner={banner}]")).to_be_visible()
        screenshot(page, f"gh-11-banner-{banner}")
        sim_call(stack, undo)
        page.goto(project_url)
        expect(page.locator(f"[data-banner={banner}]")).to_have_count(0)

    # Renamed on GitHub: followed by id, and the page says so.
    expect(page.locator("[data-banner=renamed]")).to_have_count(0)
    sim_call(stack, "/_sim/repos/octo-alice/app/rename", {"name": "app-renamed"})
    page.goto(project_url)
    expect(page.locator("[data-banner=renamed]")).to_contain_text("octo-alice/app-renamed")
    expect(page.locator("[data-repo-link]")).to_have_text("octo-alice/app-renamed")
    screenshot(page, "gh-11-banner-renamed")

    # Delete the project: its repository webhook is gone on GitHub.
    assert stack.app_repo.hooks, "NanoScale created no repository hook"
    page.goto(f"{project_url}/settings")
    page.get_by_label(re.compile("Type the project name")).fill("app")
    page.get_by_role("button", name="Delete app").click()
    page.wait_for_url(re.compile(r"/projects\?deleted=1"))
    screenshot(page, "gh-12-deleted")
    assert stack.app_repo.hooks == {}

    leaks = responses.leaks(stack.secrets())
    assert responses.responses and not leaks, leaks
