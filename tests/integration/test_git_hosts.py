"""Admins allow more Git hosts from the dashboard, on top of NANOSCALE_GIT_ALLOWED_HOSTS,
without a restart; the environment's hosts stay and members cannot change the list."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from nanoscale.context import AppContext
from nanoscale.projects.git_hosts import url_checker
from tests.support.api import (
    create_user,
    fast_password_hashing,
    login,
    project_body,
    setup_admin,
)

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

HOST = "git.internal.example"
URL = f"https://{HOST}/team/app.git"


def form_csrf(client: TestClient) -> str:
    page = client.get("/settings")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def test_an_added_host_is_usable_at_once_and_removing_it_refuses_it_again(
    client: TestClient, context: AppContext
) -> None:
    headers = {"X-CSRF-Token": setup_admin(client)}
    refused = client.post("/api/projects", json=project_body(repo_url=URL), headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "repo_url"
    allowed = url_checker(context.sessions, context.settings)
    assert not allowed(URL)

    added = client.post(
        "/settings/git-hosts",
        data={"csrf_token": form_csrf(client), "host": HOST},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = client.get("/settings").text
    assert f'data-git-host="{HOST}"' in page
    assert 'data-git-host="github.com"' in page  # the environment's, listed and kept
    assert allowed(URL)  # the engine's check sees it too, same process, no restart
    created = client.post("/api/projects", json=project_body(repo_url=URL), headers=headers)
    assert created.status_code == 201, created.text

    host_id = re.search(r'action="/settings/git-hosts/([0-9a-f]+)/delete"', page)
    assert host_id
    removed = client.post(
        f"/settings/git-hosts/{host_id.group(1)}/delete",
        data={"csrf_token": form_csrf(client)},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert not allowed(URL)
    again = client.post("/api/projects", json=project_body("other", repo_url=URL), headers=headers)
    assert again.status_code == 422


@pytest.mark.parametrize(
    "bad",
    ["https://git.example.com", "git.example.com/team", "user@git.example.com", "*.example.com",
     "git.example.com:99999", "", "999.1.1.1"],
)  # fmt: skip
def test_hosts_that_are_not_a_plain_host_are_refused_next_to_the_field(
    client: TestClient, bad: str
) -> None:
    setup_admin(client)
    page = client.post("/settings/git-hosts", data={"csrf_token": form_csrf(client), "host": bad})
    assert page.status_code == 422
    assert 'id="e-host"' in page.text
    assert "data-git-host=" in page.text


def test_an_environment_host_cannot_be_added_twice(client: TestClient) -> None:
    setup_admin(client)
    page = client.post(
        "/settings/git-hosts", data={"csrf_token": form_csrf(client), "host": "GitHub.com"}
    )
    assert page.status_code == 409
    assert "NANOSCALE_GIT_ALLOWED_HOSTS" in page.text


def test_members_cannot_change_the_list(client: TestClient) -> None:
    headers = {"X-CSRF-Token": setup_admin(client)}
    create_user(client, headers, "member", "member password 1")
    client.cookies.clear()
    login(client, "member", "member password 1")
    page = client.get("/settings").text
    assert "data-git-hosts" not in page
    response = client.post(
        "/settings/git-hosts", data={"csrf_token": form_csrf(client), "host": HOST}
    )
    assert response.status_code == 403
