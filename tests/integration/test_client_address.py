"""The client address the login throttle and the audit log use, through the real server
configuration (`uvicorn_options`): X-Forwarded-For only counts from trusted proxies."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select

from nanoscale.accounts.models import AuditEvent
from nanoscale.cli.serve import uvicorn_options
from nanoscale.context import AppContext, build_context
from nanoscale.db.migrate import upgrade
from nanoscale.settings import Settings
from tests.support.api import fast_password_hashing
from tests.support.live_server import live_server
from tests.support.postgres import free_port

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

FORGED = "203.0.113.9"


def _failed_login_ip(context: AppContext) -> str | None:
    with live_server(context) as url, httpx.Client(base_url=url) as client:
        setup = client.post("/api/auth/setup", json={"username": "admin", "password": "x" * 12})
        assert setup.status_code == 201, setup.text
        failed = client.post(
            "/api/auth/login",
            json={"username": "admin", "password": "wrong password"},
            headers={"X-Forwarded-For": FORGED},
        )
        assert failed.status_code == 401, failed.text
    with context.sessions() as db:
        query = select(AuditEvent.ip).where(AuditEvent.action == "auth.login.failed")
        return db.scalars(query).one()


@pytest.fixture
def make_context(make_settings: Callable[..., Settings]) -> Callable[..., AppContext]:
    def _make(**overrides: str) -> AppContext:
        ctx = build_context(make_settings(port=free_port(), **overrides))
        upgrade(ctx.engine)
        return ctx

    return _make


def test_x_forwarded_for_is_ignored_by_default(make_context: Callable[..., AppContext]) -> None:
    context = make_context()
    try:
        assert _failed_login_ip(context) == "127.0.0.1"
    finally:
        context.close()


def test_x_forwarded_for_is_used_from_a_trusted_proxy(
    make_context: Callable[..., AppContext],
) -> None:
    context = make_context(trusted_proxies="127.0.0.1")
    try:
        assert _failed_login_ip(context) == FORGED
    finally:
        context.close()


def test_uvicorn_options_turn_proxy_headers_on_only_for_trusted_proxies(
    make_settings: Callable[..., Settings],
) -> None:
    default = uvicorn_options(make_settings())
    assert (default["proxy_headers"], default["forwarded_allow_ips"]) == (False, [])
    trusted = uvicorn_options(make_settings(trusted_proxies="10.0.0.2, 10.1.0.0/16"))
    assert trusted["proxy_headers"] is True
    assert trusted["forwarded_allow_ips"] == ["10.0.0.2", "10.1.0.0/16"]
