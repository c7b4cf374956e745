"""After a validation error the project forms show the env var names typed again, with
empty value fields asking for the value: a value is never echoed into the page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.projects.schemas import ProjectCreate
from nanoscale.projects.service import create_project
from tests.support.api import fast_password_hashing, project_body, setup_admin

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

SECRET = "typed-secret-never-echoed"


def name_inputs(page: str) -> list[str]:
    return re.findall(r'name="env_key"[^>]*value="([^"]*)"', page)


def test_new_project_form_keeps_typed_env_names_after_an_error(client: TestClient) -> None:
    csrf = setup_admin(client)
    form = {
        "csrf_token": csrf, "name": "Not_A_Label", "repo_url": "https://git.example/a.git",
        "branch": "main", "start_command": "python3 app.py",
        "env_key": ["API_URL", "TOKEN"], "env_value": ["https://api.example", SECRET],
    }  # fmt: skip
    page = client.post("/projects/new", data=form)

    assert page.status_code == 422
    assert 'id="e-name"' in page.text
    assert name_inputs(page.text) == ["API_URL", "TOKEN"]
    assert page.text.count("re-enter the value") == 2
    assert SECRET not in page.text
    assert "https://api.example" not in page.text


def test_settings_form_keeps_typed_env_names_after_an_error(
    client: TestClient, context: AppContext
) -> None:
    csrf = setup_admin(client)
    with session_scope(context.sessions) as session:
        owner = session.query(User).one()
        data = ProjectCreate.model_validate(project_body(env_vars={"STORED": "stored-value"}))
        project_id = create_project(session, ctx=context, owner=owner, data=data).id
    form = {
        "csrf_token": csrf, "branch": "main", "domain": "localhost",  # refused
        "start_command": "python3 app.py",
        "env_key": ["STORED", "FEATURE"], "env_value": [SECRET, "on-" + SECRET],
        "env_remove": [],
    }  # fmt: skip
    page = client.post(f"/projects/{project_id}/settings", data=form)

    assert page.status_code == 422
    assert 'id="e-domain"' in page.text
    assert name_inputs(page.text) == ["STORED", "FEATURE"]
    assert re.search(r'value="STORED" readonly', page.text)  # the stored one stays read-only
    assert page.text.count("re-enter the value") == 2  # the new value for STORED, and FEATURE
    assert SECRET not in page.text
