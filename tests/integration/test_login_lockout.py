"""Login throttling cannot be turned against the real user, and holds under parallel guesses.

Attacks performed: an attacker fails on purpose for `admin` from another address until
throttled, then the admin logs in from theirs; twenty wrong guesses race each other, and
exactly the allowed number get a verdict (on SQLite and PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nanoscale.accounts import service
from nanoscale.accounts.models import AuditEvent, LoginFailure
from nanoscale.app import create_app
from nanoscale.context import AppContext, build_context
from nanoscale.db.migrate import upgrade
from nanoscale.errors import RateLimited, Unauthenticated
from nanoscale.settings import Settings
from tests.support.api import ADMIN, create_user, fast_password_hashing, setup_admin

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

ATTACKER_IP = "198.51.100.7"
ADMIN_IP = "192.0.2.10"


@pytest.fixture
def throttled_context(
    make_settings: Callable[..., Settings], database_url: str
) -> Callable[..., AppContext]:
    contexts: list[AppContext] = []

    def _make(**overrides: int) -> AppContext:
        ctx = build_context(make_settings(database_url=database_url, **overrides))
        upgrade(ctx.engine)
        contexts.append(ctx)
        return ctx

    yield _make  # type: ignore[misc]
    for ctx in contexts:
        ctx.close()


def _client_from(ctx: AppContext, ip: str) -> TestClient:
    return TestClient(create_app(ctx.settings, context=ctx), client=(ip, 50000))


def test_an_attackers_failures_from_another_address_do_not_lock_out_the_admin(
    throttled_context: Callable[..., AppContext],
) -> None:
    ctx = throttled_context(login_max_failures=3, login_max_failures_per_ip=5)
    admin = _client_from(ctx, ADMIN_IP)
    setup_admin(admin)
    admin.cookies.clear()
    attacker = _client_from(ctx, ATTACKER_IP)
    wrong = {"username": "admin", "password": "not the password"}
    statuses = [attacker.post("/api/auth/login", json=wrong).status_code for _ in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]
    # The attacker is refused even with the right password: the pair is locked.
    locked = attacker.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
    assert locked.status_code == 429

    ok = admin.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})

    assert ok.status_code == 200, ok.text


def test_the_last_attempt_before_the_lockout_is_announced_in_minutes(
    throttled_context: Callable[..., AppContext],
) -> None:
    ctx = throttled_context(login_max_failures=3, login_window_seconds=600)
    client = _client_from(ctx, ATTACKER_IP)
    setup_admin(client)
    client.cookies.clear()
    wrong = {"username": "admin", "password": "not the password"}
    messages = [client.post("/api/auth/login", json=wrong).json()["error"] for _ in range(4)]
    assert messages[0]["message"] == "wrong username or password"
    assert "one attempt left" in messages[1]["message"]
    assert "10 minutes" in messages[1]["message"]
    assert "wait up to 10 minutes" in messages[2]["message"]
    assert messages[3]["code"] == "login_throttled"
    assert "try again in 10 minutes" in messages[3]["message"]


def test_parallel_wrong_guesses_record_exactly_the_allowed_number(
    throttled_context: Callable[..., AppContext],
) -> None:
    ctx = throttled_context(login_max_failures=5, login_max_failures_per_ip=100)
    with ctx.sessions() as db:
        service.setup_admin(
            db, settings=ctx.settings, username=ADMIN[0], password=ADMIN[1], ip=None
        )
        db.commit()
    guesses = 20
    start = Barrier(guesses)

    def guess(i: int) -> str:
        start.wait()
        with ctx.sessions() as db:
            try:
                service.login(
                    db, settings=ctx.settings, username="admin", password=f"guess {i}",
                    ip=ATTACKER_IP,
                )  # fmt: skip
            except Unauthenticated:
                return "401"
            except RateLimited:
                return "429"
            return "200"

    with ThreadPoolExecutor(max_workers=guesses) as pool:
        outcomes = list(pool.map(guess, range(guesses)))

    assert sorted(outcomes).count("401") == 5, outcomes
    assert outcomes.count("429") == guesses - 5
    with ctx.sessions() as db:
        assert db.scalar(select(func.count()).select_from(LoginFailure)) == 5
        failed = select(func.count()).where(AuditEvent.action == "auth.login.failed")
        assert db.scalar(failed) == 5


SHARED_IP = "203.0.113.50"  # one NAT: the attacker and the admin share the address


def test_a_known_device_still_logs_in_when_its_address_is_locked_out(
    throttled_context: Callable[..., AppContext],
) -> None:
    ctx = throttled_context(login_max_failures=3, login_max_failures_per_ip=5)
    admin = _client_from(ctx, SHARED_IP)
    csrf = {"X-CSRF-Token": setup_admin(admin)}
    create_user(admin, csrf, "eve", "eve's long password")
    admin.cookies.clear()
    right = {"username": ADMIN[0], "password": ADMIN[1]}
    assert admin.post("/api/auth/login", json=right).status_code == 200  # a known device now
    device = admin.cookies["nanoscale_device"]
    eve = _client_from(ctx, ATTACKER_IP)
    eve.post("/api/auth/login", json={"username": "eve", "password": "eve's long password"})
    eves_device = eve.cookies["nanoscale_device"]

    attacker = _client_from(ctx, SHARED_IP)
    wrong = {"username": "admin", "password": "not the password"}
    for i in range(6):
        attacker.post("/api/auth/login", json={**wrong, "username": f"user{i}"})
    assert attacker.post("/api/auth/login", json=right).status_code == 429  # address locked
    for borrowed in (device[:-4] + "AAAA", eves_device, "v1.deadbeef.AAAA"):
        attacker.cookies.set("nanoscale_device", borrowed)
        assert attacker.post("/api/auth/login", json=right).status_code == 429, borrowed

    admin.post(
        "/api/auth/logout",
        headers={"X-CSRF-Token": admin.get("/api/auth/session").json()["csrf_token"]},
    )
    assert admin.cookies.get("nanoscale_session") is None
    again = admin.post("/api/auth/login", json=right)

    assert again.status_code == 200, again.text
    # The device has its own few attempts, not unlimited ones.
    admin.cookies.delete("nanoscale_session")
    statuses = [admin.post("/api/auth/login", json=wrong).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
