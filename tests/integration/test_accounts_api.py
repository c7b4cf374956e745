"""Accounts through the JSON API: setup, login, sessions, CSRF, users, passwords, tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from nanoscale.accounts.models import ApiToken, AuditEvent, AuthSession, User
from nanoscale.accounts.passwords import verify_password
from nanoscale.accounts.secrets_util import digest
from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from tests.support.api import (
    ADMIN,
    bearer,
    create_user,
    fast_password_hashing,
    login,
    make_client,
    setup_admin,
)

__all__ = ["fast_password_hashing", "make_client"]  # fixtures used here
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def audit_actions(context: AppContext) -> list[str]:
    with context.sessions() as db:
        return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.created_at)))


def test_setup_creates_the_admin_once_then_answers_409(client: TestClient) -> None:
    setup_admin(client)
    again = client.post("/api/auth/setup", json={"username": "eve", "password": "x" * 12})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "setup_done"
    assert client.get("/api/auth/setup").json() == {"needs_setup": False}


def test_setup_rejects_a_short_password_without_creating_anyone(client: TestClient) -> None:
    response = client.post("/api/auth/setup", json={"username": "admin", "password": "short"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "password"
    assert client.get("/api/auth/setup").json() == {"needs_setup": True}


def test_login_sets_an_httponly_lax_cookie_and_stores_only_its_hash(
    client: TestClient, context: AppContext
) -> None:
    setup_admin(client)
    client.cookies.clear()
    response = client.post("/api/auth/login", json={"username": "ADMIN", "password": ADMIN[1]})
    assert response.status_code == 200
    cookie_header = response.headers["set-cookie"]
    assert "nanoscale_session=" in cookie_header
    assert "HttpOnly" in cookie_header
    assert "SameSite=lax" in cookie_header
    assert "Secure" not in cookie_header  # plain http public URL in this test
    token = client.cookies["nanoscale_session"]
    with context.sessions() as db:
        hashes = list(db.scalars(select(AuthSession.token_hash)))
    assert digest(token) in hashes
    assert token not in hashes
    session = client.get("/api/auth/session").json()
    assert session["user"]["username"] == "admin"
    assert session["csrf_token"] == response.json()["csrf_token"]


def test_cookie_is_secure_when_the_public_url_is_https(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(public_base_url="https://deploy.example.com")
    response = client.post("/api/auth/setup", json={"username": "a", "password": ADMIN[1]})
    assert "Secure" in response.headers["set-cookie"]


def test_login_rotates_the_session_and_ends_the_previous_one(
    client: TestClient, context: AppContext
) -> None:
    setup_admin(client)
    first = client.cookies["nanoscale_session"]
    login(client, *ADMIN)
    second = client.cookies["nanoscale_session"]
    assert first != second
    with context.sessions() as db:
        hashes = set(db.scalars(select(AuthSession.token_hash)))
    assert digest(first) not in hashes and digest(second) in hashes


def test_wrong_password_and_unknown_user_get_the_same_401(client: TestClient) -> None:
    setup_admin(client)
    wrong = client.post("/api/auth/login", json={"username": "admin", "password": "nope-nope"})
    unknown = client.post("/api/auth/login", json={"username": "ghost", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_logout_ends_the_session(client: TestClient) -> None:
    headers = {"X-CSRF-Token": setup_admin(client)}
    token = client.cookies["nanoscale_session"]
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    client.cookies.set("nanoscale_session", token)
    assert client.get("/api/auth/session").status_code == 401


def test_idle_session_expires(client: TestClient, context: AppContext) -> None:
    setup_admin(client)
    idle = timedelta(seconds=context.settings.session_idle_seconds + 1)
    with context.sessions.begin() as db:
        db.execute(update(AuthSession).values(last_seen_at=utcnow() - idle))
    response = client.get("/api/auth/session")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_expired"


def test_session_expires_at_its_absolute_lifetime_even_when_active(
    client: TestClient, context: AppContext
) -> None:
    setup_admin(client)
    with context.sessions.begin() as db:
        db.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/auth/session").status_code == 401


def test_cookie_writes_need_the_csrf_token(client: TestClient, context: AppContext) -> None:
    csrf = setup_admin(client)
    body = {"username": "bob", "password": "long enough pw"}
    missing = client.post("/api/users", json=body)
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "csrf_failed"
    wrong = client.post("/api/users", json=body, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    with context.sessions() as db:
        assert db.scalar(select(User).where(User.username == "bob")) is None
    assert client.post("/api/users", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201


def test_cookie_writes_from_another_origin_are_refused_even_with_the_token(
    client: TestClient,
) -> None:
    csrf = setup_admin(client)
    headers = {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    response = client.post("/api/tokens", json={"name": "x"}, headers=headers)
    assert response.status_code == 403
    same_site = {"X-CSRF-Token": csrf, "Origin": "http://testserver"}
    assert client.post("/api/tokens", json={"name": "x"}, headers=same_site).status_code == 201
    referer = {"X-CSRF-Token": csrf, "Referer": "https://evil.example/page"}
    assert client.post("/api/tokens", json={"name": "y"}, headers=referer).status_code == 403


def test_login_from_a_foreign_origin_is_refused(client: TestClient) -> None:
    setup_admin(client)
    response = client.post(
        "/api/auth/login",
        json={"username": ADMIN[0], "password": ADMIN[1]},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_csrf_token_is_accepted_from_a_form_field(client: TestClient) -> None:
    csrf = setup_admin(client)
    response = client.post("/api/auth/logout", data={"csrf_token": csrf})
    assert response.status_code == 204


def test_bearer_token_works_without_csrf_and_is_shown_only_once(
    client: TestClient, context: AppContext
) -> None:
    csrf = setup_admin(client)
    created = client.post("/api/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("nst_")
    listed = client.get("/api/tokens").json()
    assert [t["name"] for t in listed] == ["ci"]
    assert secret not in str(listed)
    with context.sessions() as db:
        assert secret not in set(db.scalars(select(ApiToken.token_hash)))

    script = TestClient(client.app)  # no cookies
    auth = {"Authorization": f"Bearer {secret}"}
    assert script.get("/api/auth/session", headers=auth).json()["user"]["username"] == "admin"
    assert script.post("/api/tokens", json={"name": "2"}, headers=auth).status_code == 201
    revoke = script.delete(f"/api/tokens/{created.json()['id']}", headers=auth)
    assert revoke.status_code == 204
    assert script.get("/api/projects", headers=auth).status_code == 401
    assert "token.created" in audit_actions(context)
    assert "token.revoked" in audit_actions(context)


def test_other_users_tokens_cannot_be_revoked(client: TestClient) -> None:
    headers = {"X-CSRF-Token": setup_admin(client)}
    create_user(client, headers, "bob", "bob password 1")
    bob = TestClient(client.app)
    bob_auth = bearer(bob, login(bob, "bob", "bob password 1"))
    admin_token = client.post("/api/tokens", json={"name": "mine"}, headers=headers).json()
    assert bob.delete(f"/api/tokens/{admin_token['id']}", headers=bob_auth).status_code == 404
    assert [t["name"] for t in client.get("/api/tokens").json()] == ["mine"]


def test_malformed_authorization_header_is_401(client: TestClient) -> None:
    values: list[str | bytes] = ["Basic abc", "Bearer", "Bearer nst_unknown", b"Bearer \xe9"]
    for value in values:
        response = client.get("/api/projects", headers={"Authorization": value})
        assert response.status_code == 401, value


def test_admin_creates_and_removes_users_and_others_cannot(
    client: TestClient, context: AppContext
) -> None:
    headers = {"X-CSRF-Token": setup_admin(client)}
    bob = create_user(client, headers, "bob", "bob password 1")
    duplicate = client.post(
        "/api/users", json={"username": "BOB", "password": "x" * 10}, headers=headers
    )
    assert duplicate.status_code == 409
    assert [u["username"] for u in client.get("/api/users").json()] == ["admin", "bob"]

    bob_client = TestClient(client.app)
    bob_headers = login(bob_client, "bob", "bob password 1")
    assert bob_client.get("/api/users").status_code == 403
    denied = bob_client.post(
        "/api/users", json={"username": "carol", "password": "x" * 10}, headers=bob_headers
    )
    assert denied.status_code == 403

    me = client.get("/api/auth/session").json()["user"]["id"]
    assert client.delete(f"/api/users/{me}", headers=headers).status_code == 409
    assert client.delete(f"/api/users/{bob['id']}", headers=headers).status_code == 204
    assert client.delete(f"/api/users/{bob['id']}", headers=headers).status_code == 404
    assert bob_client.get("/api/auth/session").status_code == 401  # their session went too
    actions = audit_actions(context)
    assert "user.created" in actions and "user.removed" in actions


def test_password_change_needs_the_current_password_and_ends_other_sessions(
    client: TestClient, context: AppContext
) -> None:
    headers = {"X-CSRF-Token": setup_admin(client)}
    laptop = TestClient(client.app)
    login(laptop, *ADMIN)
    wrong = client.post(
        "/api/auth/password",
        json={"current_password": "not it", "new_password": "a new password"},
        headers=headers,
    )
    assert wrong.status_code == 403
    ok = client.post(
        "/api/auth/password",
        json={"current_password": ADMIN[1], "new_password": "a new password"},
        headers=headers,
    )
    assert ok.status_code == 204
    assert client.get("/api/auth/session").status_code == 200  # this session stays
    assert laptop.get("/api/auth/session").status_code == 401
    client.cookies.clear()
    bad = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN[1]})
    assert bad.status_code == 401
    login(client, "admin", "a new password")
    assert "password.changed" in audit_actions(context)


def test_wrong_current_passwords_are_throttled_like_failed_logins(
    client: TestClient, context: AppContext
) -> None:
    headers = {"X-CSRF-Token": setup_admin(client)}
    limit = context.settings.login_max_failures
    for _ in range(limit):
        wrong = client.post(
            "/api/auth/password",
            json={"current_password": "guess again", "new_password": "a new password"},
            headers=headers,
        )
        assert wrong.status_code == 403

    throttled = client.post(
        "/api/auth/password",
        json={"current_password": ADMIN[1], "new_password": "a new password"},
        headers=headers,
    )

    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert audit_actions(context).count("password.change_failed") == limit
    with context.sessions() as db:
        admin = db.scalars(select(User)).one()
        assert verify_password(admin.password_hash, ADMIN[1])  # unchanged
    client.cookies.clear()
    # The failures count against the username for logins too.
    relogin = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN[1]})
    assert relogin.status_code == 429


def test_login_success_and_failure_are_audited_with_ip(
    client: TestClient, context: AppContext
) -> None:
    setup_admin(client)
    client.post("/api/auth/login", json={"username": "admin", "password": "wrong-pass"})
    login(client, *ADMIN)
    with context.sessions() as db:
        events = {e.action: e for e in db.scalars(select(AuditEvent))}
    failed = events["auth.login.failed"]
    assert failed.ip == "testclient"
    assert failed.actor_label == "admin"
    assert "wrong-pass" not in str(failed.details)
    assert events["auth.login.succeeded"].actor_user_id is not None


def test_repeated_failures_for_one_username_are_throttled_with_retry_after(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(login_max_failures=3, login_max_failures_per_ip=100)
    setup_admin(client)
    for _ in range(3):
        bad = client.post("/api/auth/login", json={"username": "admin", "password": "guess-1"})
        assert bad.status_code == 401
    throttled = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN[1]})
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= 900
    assert throttled.json()["error"]["code"] == "login_throttled"
    # Another username from the same address is not blocked by that counter.
    other = client.post("/api/auth/login", json={"username": "bob", "password": "guess-1"})
    assert other.status_code == 401


def test_one_address_guessing_many_usernames_is_throttled(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(login_max_failures=100, login_max_failures_per_ip=4)
    setup_admin(client)
    for i in range(4):
        body = {"username": f"user{i}", "password": "guess-1"}
        assert client.post("/api/auth/login", json=body).status_code == 401
    throttled = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN[1]})
    assert throttled.status_code == 429
    assert "Retry-After" in throttled.headers
