"""Who may do what in the browser: login errors, per-user project visibility, CSRF, and env
var values that never come back to the page."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.harness import NanoScaleServer, create_admin, log_in, screenshot
from tests.support.git_server import Repo

pytestmark = pytest.mark.browser

ADMIN = ("root", "admin password 123")
MEMBER = ("alice", "alice password 456")


@pytest.fixture(scope="module", autouse=True)
def admin(server: NanoScaleServer) -> None:
    create_admin(server, *ADMIN)


@pytest.fixture
def attacker_site(server: NanoScaleServer) -> Iterator[str]:
    """Another origin whose page auto-submits a form to NanoScale (classic CSRF)."""
    page = (
        f'<form id="f" method="post" action="{server.url}/projects/new">'
        '<input name="name" value="pwned"><input name="repo_url" value="https://x.invalid/r.git">'
        '</form><script>document.getElementById("f").submit()</script>'
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_wrong_password_shows_an_error_and_no_session(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    expect(page.get_by_label("Username")).to_have_value(ADMIN[0])
    expect(page.get_by_label("Password")).to_have_value("")
    screenshot(page, "11-login-error")
    page.goto("/projects")
    expect(page).to_have_url(re.compile(r"/login\?next=/projects$"))


def test_setup_page_sends_to_login_once_an_admin_exists(page: Page) -> None:
    page.goto("/setup")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_project_form_errors_appear_next_to_their_field(page: Page, app_repo: Repo) -> None:
    log_in(page, *ADMIN)
    page.goto("/projects/new")
    page.get_by_label("Repository URL").fill(app_repo.url)
    page.get_by_label("Project name").fill("Not A DNS Name!")
    page.get_by_role("button", name="Create and deploy").click()
    name = page.get_by_label("Project name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-name")).to_contain_text("DNS label")
    expect(page.get_by_label("Repository URL")).to_have_value(app_repo.url)
    screenshot(page, "12-project-new-error")


def test_second_user_does_not_see_the_first_users_projects(page: Page, app_repo: Repo) -> None:
    log_in(page, *ADMIN)
    page.goto("/projects/new")
    page.get_by_label("Repository URL").fill(app_repo.url)
    page.get_by_label("Project name").fill("dash-root-app")
    page.get_by_label("Start command").fill("python3 app.py")
    page.get_by_role("button", name="Create and deploy").click()
    expect(page).to_have_url(re.compile(r"/projects/[0-9a-f]+$"))
    project_url = page.url

    add_user(page, *MEMBER)
    screenshot(page, "13-settings-users")
    page.get_by_role("button", name="Log out").click()

    log_in(page, *MEMBER)
    page.goto("/projects")
    expect(page.get_by_text("No projects yet")).to_be_visible()
    expect(page.get_by_text("dash-root-app")).to_have_count(0)
    assert page.goto(project_url).status == 404  # type: ignore[union-attr]
    page.goto("/settings")
    expect(page.get_by_role("heading", name="Users")).to_have_count(0)


def test_form_posts_without_the_csrf_token_are_refused(page: Page, attacker_site: str) -> None:
    log_in(page, *ADMIN)
    # Same origin, valid session cookie, but no token: refused.
    status = page.evaluate(
        """async () => (await fetch('/projects/new', {method: 'POST',
             headers: {'Content-Type': 'application/x-www-form-urlencoded'},
             body: 'name=nocsrf&repo_url=https%3A%2F%2Fx.invalid%2Fr.git'})).status"""
    )
    assert status == 403
    # Another site's auto-submitting form: the browser sends the cookie, NanoScale refuses.
    with page.expect_response(lambda r: r.url.endswith("/projects/new")) as answer:
        page.goto(attacker_site)
    assert answer.value.status == 403
    page.goto("/projects")
    expect(page.get_by_text("pwned")).to_have_count(0)
    expect(page.get_by_text("nocsrf")).to_have_count(0)


def add_user(page: Page, username: str, password: str) -> None:
    page.goto("/settings")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Initial password").fill(password)
    page.get_by_role("button", name="Add user").click()
    expect(page.locator(f"[data-user-row={username}]")).to_be_visible()


def test_removed_user_can_no_longer_log_in(page: Page) -> None:
    log_in(page, *ADMIN)
    add_user(page, "bob", "bob password 111")
    page.get_by_role("button", name="Remove bob").click()
    expect(page.get_by_role("status")).to_have_text("User removed.")
    expect(page.locator("[data-user-row=bob]")).to_have_count(0)
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("bob password 111")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")


def test_changed_password_replaces_the_old_one(page: Page) -> None:
    log_in(page, *ADMIN)
    add_user(page, "carol", "carol password 1")
    page.get_by_role("button", name="Log out").click()
    log_in(page, "carol", "carol password 1")
    page.goto("/settings")
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password").fill("carol password 2")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#e-current_password")).to_contain_text("current password is wrong")
    page.get_by_label("Current password").fill("carol password 1")
    page.get_by_label("New password").fill("carol password 2")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("password was changed")
    page.get_by_role("button", name="Log out").click()
    log_in(page, "carol", "carol password 2")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_core_forms_work_without_javascript(
    browser: Browser, server: NanoScaleServer, app_repo: Repo
) -> None:
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, *ADMIN)
        page.goto("/projects/new")
        page.get_by_label("Repository URL").fill(app_repo.url)
        page.get_by_label("Project name").fill("dash-nojs")
        page.get_by_label("Preset").select_option("node")
        page.get_by_label("Start command").fill("node server.js")
        page.get_by_role("button", name="Create and deploy").click()
        expect(page).to_have_url(re.compile(r"/projects/[0-9a-f]+$"))
        page.get_by_role("link", name="Settings", exact=True).last.click()
        # Without the script the server applied the preset to the fields left empty.
        expect(page.get_by_label("Install command")).to_have_value("npm ci")
        expect(page.get_by_label("Start command")).to_have_value("node server.js")
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(re.compile(r"/login$"))
    finally:
        context.close()
