"""The issue's "done when" story, end to end through the JSON API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nanoscale.accounts.models import AuditEvent
from nanoscale.context import AppContext
from nanoscale.projects.models import Project
from tests.support.api import ADMIN, create_user, fast_password_hashing, login, project_body

__all__ = ["fast_password_hashing"]  # a fixture used here
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def test_new_admin_manages_a_project_and_a_second_user_cannot_see_or_touch_it(
    client: TestClient, context: AppContext
) -> None:
    assert client.get("/api/auth/setup").json() == {"needs_setup": True}
    assert client.post("/api/projects", json=project_body()).status_code == 401

    setup = client.post("/api/auth/setup", json={"username": "Admin", "password": ADMIN[1]})
    assert setup.status_code == 201
    assert setup.json()["user"] == {**setup.json()["user"], "username": "admin", "is_admin": True}
    client.cookies.clear()
    headers = login(client, *ADMIN)

    created = client.post(
        "/api/projects",
        json=project_body(env_vars={"DATABASE_URL": "postgres://u:hunter2@db/x", "DEBUG": "1"}),
        headers=headers,
    )
    assert created.status_code == 201, created.text
    project = created.json()
    assert isinstance(project["deployment_id"], str)  # the first deployment was requested
    assert project["status"] in {"building", "failed"}  # failed: no network to its Git host
    assert project["url"] is None
    assert project["env_var_keys"] == ["DATABASE_URL", "DEBUG"]
    assert "hunter2" not in created.text
    assert context.settings.port_range_start <= project["port"] <= context.settings.port_range_end

    listed = client.get("/api/projects", headers=headers).json()
    assert [p["name"] for p in listed] == ["shop"]

    edited = client.patch(
        f"/api/projects/{project['id']}",
        json={"branch": "feature/checkout", "env_vars": {"DEBUG": None, "LOG_LEVEL": "info"}},
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["branch"] == "feature/checkout"
    assert edited.json()["env_var_keys"] == ["DATABASE_URL", "LOG_LEVEL"]
    assert client.get(f"/api/projects/{project['id']}").json()["branch"] == "feature/checkout"

    # A second user, in their own browser.
    create_user(client, headers, "bob", "bob's long password")
    bob = TestClient(client.app)
    bob_headers = login(bob, "bob", "bob's long password")
    assert bob.get("/api/projects").json() == []
    url = f"/api/projects/{project['id']}"
    assert bob.get(url).status_code == 404
    assert bob.patch(url, json={"branch": "evil"}, headers=bob_headers).status_code == 404
    assert bob.delete(url, headers=bob_headers).status_code == 404
    with context.sessions() as db:
        assert db.get(Project, project["id"]) is not None
        assert db.get(Project, project["id"]).branch == "feature/checkout"  # type: ignore[union-attr]

    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get("/api/projects").json() == []
    with context.sessions() as db:
        actions = set(db.scalars(select(AuditEvent.action)))
    assert {"project.created", "project.updated", "project.deleted", "user.created"} <= actions
