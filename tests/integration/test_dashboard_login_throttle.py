"""The dashboard's login form says when to retry once throttled, like the API does."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.support.api import fast_password_hashing, make_client, setup_admin

__all__ = ["fast_password_hashing", "make_client"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def _form_token(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the login form carries a CSRF token"
    return match.group(1)


def test_throttled_dashboard_login_is_429_with_retry_after(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(login_max_failures=2, login_max_failures_per_ip=100)
    setup_admin(client)
    client.cookies.clear()  # signed out: the login form is shown again
    token = _form_token(client)
    form = {"username": "admin", "password": "wrong password", "csrf_token": token}
    statuses = [client.post("/login", data=form).status_code for _ in range(2)]
    assert statuses == [401, 401]

    throttled = client.post("/login", data=form)

    assert throttled.status_code == 429
    assert throttled.headers["content-type"].startswith("text/html")
    assert int(throttled.headers["Retry-After"]) > 0
    assert "try again in" in throttled.text


def test_login_page_warns_on_the_last_attempt_and_says_minutes(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(login_max_failures=2, login_window_seconds=900)
    setup_admin(client)
    client.cookies.clear()
    form = {"username": "admin", "password": "wrong password", "csrf_token": _form_token(client)}

    first = client.post("/login", data=form)
    assert first.status_code == 401
    assert "one attempt left" in first.text and "15 minutes" in first.text
    client.post("/login", data=form)
    throttled = client.post("/login", data=form)
    assert throttled.status_code == 429
    assert "try again in 15 minutes" in throttled.text
    assert "seconds" not in throttled.text
