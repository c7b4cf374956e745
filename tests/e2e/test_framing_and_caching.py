"""In Chromium: another site (a deployed app, say) cannot frame the signed-in dashboard,
Back after logout does not show a signed-in page again, and the login page warns before a
lockout and says it in minutes."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.harness import NanoScaleServer, create_admin, log_in

pytestmark = pytest.mark.browser

ADMIN = ("framer-admin", "admin password 789")


@pytest.fixture(scope="module", autouse=True)
def admin(server: NanoScaleServer) -> None:
    create_admin(server, *ADMIN)


@pytest.fixture
def framing_site(server: NanoScaleServer) -> Iterator[str]:
    """Another origin whose page frames the dashboard's settings (clickjacking's first step)."""
    page = (
        f'<!doctype html><title>cute cats</title><iframe id="victim" width="900" height="600" '
        f'src="{server.url}/settings"></iframe>'
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


def test_another_site_cannot_frame_the_signed_in_dashboard(
    page: Page, server: NanoScaleServer, framing_site: str
) -> None:
    log_in(page, *ADMIN)
    page.goto("/settings")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()  # what a frame would show

    responses: list[int] = []
    page.on("response", lambda r: responses.append(r.status) if "/settings" in r.url else None)
    page.goto(framing_site)
    page.wait_for_load_state("load")

    assert responses, "the browser asked for the framed page"  # so the refusal is the browser's
    frame = page.frame_locator("#victim")
    expect(frame.get_by_role("heading", name="Users")).to_have_count(0)
    expect(frame.get_by_role("button", name="Log out")).to_have_count(0)
    child = [f for f in page.frames if f is not page.main_frame]
    assert all(not f.url.startswith(server.url) or f.content().count("Log out") == 0 for f in child)


def test_back_after_logout_does_not_show_the_signed_in_page(page: Page) -> None:
    log_in(page, *ADMIN)
    page.goto("/settings")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    page.go_back()

    expect(page).to_have_url(re.compile(r"/login\?next=/settings$"))
    expect(page.get_by_role("heading", name="Users")).to_have_count(0)


def test_login_page_warns_on_the_last_attempt_and_says_minutes(page: Page) -> None:
    def attempt() -> None:  # an unknown name: the admin's own logins stay unthrottled
        page.goto("/login")
        page.get_by_label("Username").fill("mallory")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()

    for _ in range(3):
        attempt()
        expect(page.get_by_role("alert")).to_have_text(re.compile("wrong username or password"))
        expect(page.get_by_role("alert")).not_to_contain_text("attempt left")
    attempt()
    expect(page.get_by_role("alert")).to_contain_text("one attempt left")
    expect(page.get_by_role("alert")).to_contain_text("15 minutes")
    attempt()
    expect(page.get_by_role("alert")).to_contain_text("wait up to 15 minutes")
    attempt()
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"try again in 1[45] minutes"))
    expect(page.get_by_role("alert")).not_to_contain_text("seconds")
