"""A dashboard form whose service call fails re-renders itself with the error (under the
field it names, or above the form), and the failed change leaves nothing stored: the
dashboard's route class rolls the session back before the page is drawn."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import ProjectCreate
from nanoscale.projects.service import create_project
from tests.support.api import create_user, fast_password_hashing, project_body, setup_admin

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def _users(context: AppContext) -> int:
    with session_scope(context.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_adding_a_taken_username_shows_the_error_under_the_field(
    client: TestClient, context: AppContext
) -> None:
    csrf = setup_admin(client)
    form = {"csrf_token": csrf, "username": "admin", "password": "a long enough password"}
    before = _users(context)

    page = client.post("/settings/users", data=form)

    assert page.status_code == 409
    assert 'id="e-username"' in page.text
    assert 'value="admin"' in page.text  # what was typed is kept
    assert _users(context) == before


def test_removing_an_unknown_user_shows_the_error_above_the_form(client: TestClient) -> None:
    csrf = setup_admin(client)

    page = client.post("/settings/users/no-such-user/delete", data={"csrf_token": csrf})

    assert page.status_code == 404
    assert "Users" in page.text  # the settings page itself, not the generic error page


def test_refused_settings_change_stores_none_of_the_form(
    client: TestClient, context: AppContext
) -> None:
    csrf = setup_admin(client)
    with session_scope(context.sessions) as session:
        owner = session.query(User).one()
        data = ProjectCreate.model_validate(project_body(branch="main"))
        project_id = create_project(session, ctx=context, owner=owner, data=data).id
    form = {
        "csrf_token": csrf, "branch": "release", "domain": "localhost",  # refused
        "start_command": "python3 other.py", "env_key": [], "env_value": [], "env_remove": [],
    }  # fmt: skip

    page = client.post(f"/projects/{project_id}/settings", data=form)

    assert page.status_code == 422
    assert 'id="e-domain"' in page.text
    with session_scope(context.sessions) as session:
        stored = session.get_one(Project, project_id)
        assert (stored.branch, stored.start_command, stored.domain) == (
            "main",
            data.start_command,
            data.domain,
        )


def test_a_user_who_owns_projects_is_not_removed(client: TestClient, context: AppContext) -> None:
    csrf = setup_admin(client)
    headers = {"X-CSRF-Token": csrf}
    eve = create_user(client, headers, "eve", "another long password")
    with session_scope(context.sessions) as session:
        owner = session.get_one(User, eve["id"])
        data = ProjectCreate.model_validate(project_body(name="eves-shop"))
        create_project(session, ctx=context, owner=owner, data=data)

    api = client.delete(f"/api/users/{eve['id']}", headers=headers)
    page = client.post(f"/settings/users/{eve['id']}/delete", data={"csrf_token": csrf})

    assert (api.status_code, api.json()["error"]["code"]) == (409, "user_owns_projects")
    assert page.status_code == 409
    assert "owns 1 project" in page.text
    with session_scope(context.sessions) as session:
        assert session.get(User, eve["id"]) is not None
