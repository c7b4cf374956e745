"""Auth events are logged under stable names, and never with passwords, tokens or bodies."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from tests.support.api import ADMIN, fast_password_hashing, make_client, project_body, setup_admin

__all__ = ["fast_password_hashing", "make_client"]  # fixtures used here
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def test_auth_events_are_logged_without_secrets(make_client: Callable[..., TestClient]) -> None:
    client = make_client(login_max_failures=2)
    with capture_logs() as logs:
        csrf = setup_admin(client)
        created = client.post("/api/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
        token = created.json()["token"]
        client.post(
            "/api/projects",
            json=project_body(env_vars={"SECRET": "env-value-42"}, git_username="u",
                              git_password="git-pass-42"),
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        client.get("/api/projects", headers={"Authorization": "Bearer nst_forged"})
        for _ in range(3):
            client.post("/api/auth/login", json={"username": "admin", "password": "wrong-pw-7"})
        client.post("/api/auth/login", json={"username": "admin", "password": ADMIN[1]})

    names = [entry["event"] for entry in logs]
    for expected in (
        "auth.setup.completed",
        "auth.token.created",
        "auth.token.rejected",
        "auth.login.failed",
        "auth.login.throttled",
        "project.created",
    ):
        assert expected in names, expected
    flat = repr(logs)
    for secret in (ADMIN[1], "wrong-pw-7", token, csrf, "env-value-42", "git-pass-42"):
        assert secret not in flat


def test_successful_login_is_logged(client: TestClient) -> None:
    setup_admin(client)
    with capture_logs() as logs:
        client.post("/api/auth/login", json={"username": "admin", "password": ADMIN[1]})
    assert [e for e in logs if e["event"] == "auth.login.succeeded"]
    assert ADMIN[1] not in repr(logs)
