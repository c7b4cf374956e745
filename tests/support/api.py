"""Helpers for driving the JSON API as a person or a script would (TestClient based)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from nanoscale.accounts import passwords
from nanoscale.app import create_app
from nanoscale.context import AppContext, build_context
from nanoscale.db.migrate import upgrade
from nanoscale.settings import Settings

ADMIN = ("admin", "correct horse battery")


def setup_admin(client: TestClient, username: str = ADMIN[0], password: str = ADMIN[1]) -> str:
    """First-run setup; returns the CSRF token of the session it starts."""
    response = client.post("/api/auth/setup", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return str(response.json()["csrf_token"])


def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    """Log in with the session cookie; returns the headers a cookie client must send."""
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


def create_user(
    client: TestClient, headers: dict[str, str], username: str, password: str, **extra: Any
) -> dict[str, Any]:
    response = client.post(
        "/api/users", json={"username": username, "password": password, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(client: TestClient, headers: dict[str, str], name: str = "ci") -> dict[str, str]:
    """Create a personal API token; returns `Authorization: Bearer` headers for it."""
    response = client.post("/api/tokens", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def project_body(name: str = "shop", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "repo_url": "https://github.com/example/shop.git",
        "branch": "main",
        "install_command": "pip install -r requirements.txt",
        "start_command": "python -m shop",
    }
    body.update(overrides)
    return body


@pytest.fixture
def make_client(
    make_settings: Callable[..., Settings], database_url: str
) -> Iterator[Callable[..., TestClient]]:
    """A client on settings with overrides (e.g. tighter throttling), same DB backend.

    Import it into a test module (`from tests.support.api import make_client`) to use it.
    """
    contexts: list[AppContext] = []

    def _make(**overrides: Any) -> TestClient:
        settings = make_settings(database_url=database_url, **overrides)
        ctx = build_context(settings)
        upgrade(ctx.engine)
        contexts.append(ctx)
        return TestClient(create_app(settings, context=ctx))

    yield _make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with minimal cost: suites that log in a lot stay fast. The production
    parameters are checked in tests/unit/test_passwords.py."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "HASHER", cheap)
    # Unknown usernames are checked against this hash; its own parameters set the cost.
    monkeypatch.setattr(passwords, "_DUMMY_HASH", cheap.hash("nanoscale-dummy-password"))
