"""Users cannot bind a project to a GitHub repository by id through the public API: only the
GitHub integration, after checking access, sets `source_provider="github"`/`source_repo_id`."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nanoscale.context import AppContext
from nanoscale.projects.models import Project
from tests.support.api import bearer, fast_password_hashing, project_body, setup_admin

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

GITHUB_FIELDS = [
    ({"source_provider": "github", "source_repo_id": 42}, "source_provider"),
    ({"source_provider": "github"}, "source_provider"),
    ({"source_repo_id": 42}, "source_repo_id"),
    ({"source_provider": "manual", "source_repo_id": 42}, "source_repo_id"),
]


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return bearer(client, {"X-CSRF-Token": setup_admin(client)})


def _assert_refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("github_source_not_settable", field)
    assert "GitHub integration" in error["message"]


@pytest.mark.parametrize(("fields", "field"), GITHUB_FIELDS)
def test_creating_a_project_bound_to_a_github_repo_id_is_refused(
    client: TestClient,
    context: AppContext,
    admin: dict[str, str],
    fields: dict[str, Any],
    field: str,
) -> None:
    response = client.post("/api/projects", json=project_body(**fields), headers=admin)
    _assert_refused(response, field)
    with context.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Project)) == 0


@pytest.mark.parametrize(("fields", "field"), GITHUB_FIELDS)
def test_updating_a_project_to_a_github_repo_id_is_refused_and_changes_nothing(
    client: TestClient, admin: dict[str, str], fields: dict[str, Any], field: str
) -> None:
    created = client.post("/api/projects", json=project_body(), headers=admin)
    assert created.status_code == 201, created.text
    url = f"/api/projects/{created.json()['id']}"
    before = client.get(url, headers=admin).json()

    response = client.patch(url, json={"branch": "dev", **fields}, headers=admin)

    _assert_refused(response, field)
    after = client.get(url, headers=admin).json()
    assert after == before
    assert (after["source_provider"], after["source_repo_id"]) == ("manual", None)


def test_manual_source_fields_are_still_accepted(client: TestClient, admin: dict[str, str]) -> None:
    body = project_body(source_provider="manual", source_repo_id=None)
    created = client.post("/api/projects", json=body, headers=admin)
    assert created.status_code == 201, created.text
    url = f"/api/projects/{created.json()['id']}"
    patched = client.patch(
        url, json={"source_provider": "manual", "source_repo_id": None}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["source_provider"], patched.json()["source_repo_id"]) == ("manual", None)
