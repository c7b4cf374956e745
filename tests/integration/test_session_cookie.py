"""The session cookie over https is `__Host-` prefixed, and a plain `nanoscale_session` that
an app tossed in (set for the parent domain or another path) never logs anyone in."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from nanoscale.app import create_app
from nanoscale.context import AppContext, build_context
from nanoscale.db.migrate import upgrade
from nanoscale.settings import Settings
from tests.support.api import ADMIN, create_user, fast_password_hashing

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

BASE = "https://deploy.example.com"
EVE = ("eve", "eve's long password")


@pytest.fixture
def https_app(
    make_settings: Callable[..., Settings], database_url: str
) -> Iterator[Callable[[], TestClient]]:
    settings = make_settings(database_url=database_url, public_base_url=BASE)
    ctx: AppContext = build_context(settings)
    upgrade(ctx.engine)
    app = create_app(settings, context=ctx)
    yield lambda: TestClient(app, base_url=BASE)
    ctx.close()


def _session_token(client: TestClient, username: str, password: str) -> str:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.cookies["__Host-nanoscale_session"]
    return token


def test_over_https_the_cookie_is_host_prefixed_secure_and_host_only(
    https_app: Callable[[], TestClient],
) -> None:
    client = https_app()
    response = client.post("/api/auth/setup", json={"username": ADMIN[0], "password": ADMIN[1]})
    assert response.status_code == 201
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith("__Host-nanoscale_session=")
    attributes = [a.strip().lower() for a in set_cookie.split(";")]
    assert {"secure", "httponly", "path=/"} <= set(attributes)
    assert not [a for a in attributes if a.startswith("domain=")]
    assert client.get("/api/auth/session").json()["user"]["username"] == "admin"
    # Logout clears the same cookie.
    csrf = {"X-CSRF-Token": client.get("/api/auth/session").json()["csrf_token"]}
    cleared = client.post("/api/auth/logout", headers=csrf).headers["set-cookie"]
    assert cleared.startswith('__Host-nanoscale_session=""') or "Max-Age=0" in cleared


def test_a_tossed_plain_session_cookie_does_not_log_the_admin_into_the_attackers_account(
    https_app: Callable[[], TestClient],
) -> None:
    admin = https_app()
    admin.post("/api/auth/setup", json={"username": ADMIN[0], "password": ADMIN[1]})
    csrf = {"X-CSRF-Token": admin.get("/api/auth/session").json()["csrf_token"]}
    create_user(admin, csrf, *EVE)
    eve_token = _session_token(https_app(), *EVE)
    admin_token = admin.cookies["__Host-nanoscale_session"]

    # The admin's browser without its own session, holding only the cookie an app set.
    tossed_only = https_app()
    tossed = {"Cookie": f"nanoscale_session={eve_token}"}
    assert tossed_only.get("/api/auth/session", headers=tossed).status_code == 401
    page = tossed_only.get("/", headers=tossed, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    # With both cookies (the tossed one sorted first, as a longer path would be), the admin
    # stays the admin.
    both = {"Cookie": f"nanoscale_session={eve_token}; __Host-nanoscale_session={admin_token}"}
    session = https_app().get("/api/auth/session", headers=both)
    assert session.json()["user"]["username"] == "admin"
