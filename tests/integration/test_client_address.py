"""The client address the login throttle and the audit log use, through the real server
configuration (`uvicorn_options`): X-Forwarded-For only counts from a trusted proxy address
that also presents the proxy secret, never from a tenant app on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from nanoscale.accounts.models import AuditEvent
from nanoscale.cli.serve import uvicorn_options
from nanoscale.context import AppContext, build_context
from nanoscale.db.migrate import upgrade
from nanoscale.forwarded import PROXY_SECRET_HEADER
from nanoscale.settings import Settings
from tests.support.api import fast_password_hashing
from tests.support.live_server import live_server
from tests.support.ports import free_port

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

FORGED = "203.0.113.9"


SECRET = "s" * 40


def _failed_login_ips(context: AppContext, headers: list[dict[str, str]]) -> list[int]:
    """Setup, then one wrong login per header set; returns the statuses."""
    with live_server(context) as url, httpx.Client(base_url=url) as client:
        setup = client.post("/api/auth/setup", json={"username": "admin", "password": "x" * 12})
        assert setup.status_code == 201, setup.text
        client.cookies.clear()
        wrong = {"username": "admin", "password": "wrong password"}
        return [client.post("/api/auth/login", json=wrong, headers=h).status_code for h in headers]


def _audited_ips(context: AppContext) -> list[str | None]:
    with context.sessions() as db:
        query = select(AuditEvent.ip).where(AuditEvent.action == "auth.login.failed")
        return list(db.scalars(query))


@pytest.fixture
def make_context(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., AppContext]]:
    contexts: list[AppContext] = []

    def _make(**overrides: Any) -> AppContext:
        ctx = build_context(make_settings(port=free_port(), **overrides))
        upgrade(ctx.engine)
        contexts.append(ctx)
        return ctx

    yield _make
    for ctx in contexts:
        ctx.close()


def test_x_forwarded_for_is_ignored_by_default(make_context: Callable[..., AppContext]) -> None:
    context = make_context()
    assert _failed_login_ips(context, [{"X-Forwarded-For": FORGED}]) == [401]
    assert _audited_ips(context) == ["127.0.0.1"]


def test_a_tenant_on_loopback_cannot_forge_its_address_even_with_loopback_trusted(
    make_context: Callable[..., AppContext],
) -> None:
    """The attack: a deployed app connects from 127.0.0.1 (where the proxy also connects from)
    and rotates forged X-Forwarded-For values to dodge the per-address throttle."""
    context = make_context(
        trusted_proxies="127.0.0.1", proxy_secret=SECRET,
        login_max_failures=100, login_max_failures_per_ip=3,
    )  # fmt: skip
    forged = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(4)]
    forged.append({"X-Forwarded-For": FORGED, PROXY_SECRET_HEADER: "a guess at the secret"})

    statuses = _failed_login_ips(context, forged)

    assert statuses == [401, 401, 401, 429, 429]
    assert _audited_ips(context) == ["127.0.0.1"] * 3


def test_x_forwarded_for_is_used_from_the_proxy_that_presents_the_secret(
    make_context: Callable[..., AppContext],
) -> None:
    context = make_context(trusted_proxies="127.0.0.1", proxy_secret=SECRET)
    proxied = {"X-Forwarded-For": f"{FORGED}, 10.9.8.7", PROXY_SECRET_HEADER: SECRET}
    assert _failed_login_ips(context, [proxied]) == [401]
    # The nearest hop the proxy reports is the client; what the client wrote before is not.
    assert _audited_ips(context) == ["10.9.8.7"]


def test_the_secret_is_not_believed_from_an_untrusted_address(
    make_context: Callable[..., AppContext],
) -> None:
    context = make_context(trusted_proxies="10.0.0.2", proxy_secret=SECRET)
    proxied = {"X-Forwarded-For": FORGED, PROXY_SECRET_HEADER: SECRET}
    assert _failed_login_ips(context, [proxied]) == [401]
    assert _audited_ips(context) == ["127.0.0.1"]


def test_uvicorn_never_believes_proxy_headers_itself(
    make_settings: Callable[..., Settings],
) -> None:
    trusted = uvicorn_options(make_settings(trusted_proxies="127.0.0.1", proxy_secret=SECRET))
    assert (trusted["proxy_headers"], trusted["forwarded_allow_ips"]) == (False, [])
