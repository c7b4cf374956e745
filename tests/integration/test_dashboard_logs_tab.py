"""The Logs tab's app output panel: a static site says why it has none; an app follows its
release's output over SSE."""

from __future__ import annotations

from typing import Any

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


def add_project(context: AppContext, **fields: Any) -> str:
    with session_scope(context.sessions) as session:
        owner = session.query(User).one()
        data = ProjectCreate.model_validate(project_body(**fields))
        return create_project(session, ctx=context, owner=owner, data=data).id


def test_a_static_site_explains_it_has_no_process_output(
    client: TestClient, context: AppContext
) -> None:
    setup_admin(client)
    project_id = add_project(
        context, name="site", install_command=None, start_command=None, output_directory="public"
    )
    page = client.get(f"/projects/{project_id}/logs")

    assert page.status_code == 200
    assert "Static sites have no process output" in page.text
    assert "data-app-log-src" not in page.text  # nothing to follow


def test_an_app_follows_its_release_output(client: TestClient, context: AppContext) -> None:
    setup_admin(client)
    project_id = add_project(context, name="app")
    page = client.get(f"/projects/{project_id}/logs")

    assert page.status_code == 200
    assert f'data-app-log-src="/api/projects/{project_id}/logs"' in page.text
    assert "Static sites have no process output" not in page.text
