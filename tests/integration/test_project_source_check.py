"""Creating or re-pointing a project checks the repository and branch first, against a real
Git server over smart HTTP: mistakes are a 422 on the field to fix and nothing is created;
every field's problem is reported at once."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nanoscale.app import create_app
from nanoscale.context import build_context
from nanoscale.db.engine import session_scope
from nanoscale.db.migrate import upgrade
from nanoscale.deployments.models import Deployment
from nanoscale.projects.models import Project
from nanoscale.settings import Settings
from tests.support.api import setup_admin
from tests.support.git_server import GitServer, Repo

SECRET = "tok-never-echoed-0147"


def _closed_port() -> int:
    with socket.socket() as sock:  # bound, never listening, then closed: nothing answers
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DEAD_HOST = f"127.0.0.1:{_closed_port()}"


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitServer]:
    with GitServer(tmp_path / "git") as server:
        yield server


@pytest.fixture
def public_repo(git_server: GitServer) -> Repo:
    repo = git_server.create_repo("public")
    repo.commit({"index.html": "hi"}, "first")
    return repo


@pytest.fixture
def private_repo(git_server: GitServer) -> Repo:
    repo = git_server.create_repo("private", private=True, username="ci", password=SECRET)
    repo.commit({"index.html": "secret"}, "first")
    return repo


@pytest.fixture
def api(
    make_settings: Callable[..., Settings], database_url: str, git_server: GitServer
) -> Iterator[tuple[TestClient, dict[str, str], Any]]:
    settings = make_settings(
        database_url=database_url,
        verify_git_source=True,
        git_allowed_hosts=f"{git_server.host},{DEAD_HOST}",
    )
    ctx = build_context(settings)
    upgrade(ctx.engine)
    with TestClient(create_app(settings, context=ctx)) as client:
        headers = {"X-CSRF-Token": setup_admin(client)}
        yield client, headers, ctx
    ctx.close()


def counts(ctx: Any) -> tuple[int, int]:
    with session_scope(ctx.sessions) as db:
        projects = db.scalar(select(func.count()).select_from(Project))
        deployments = db.scalar(select(func.count()).select_from(Deployment))
    return int(projects or 0), int(deployments or 0)


def body(repo_url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "app", "repo_url": repo_url, "branch": "main", **extra}


def test_a_missing_branch_is_a_422_on_branch_and_creates_nothing(
    api: Any, public_repo: Repo
) -> None:
    client, headers, ctx = api
    response = client.post(
        "/api/projects", json=body(public_repo.url, branch="release/9"), headers=headers
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["field"], error["code"]) == ("branch", "branch_not_found")
    assert "release/9" in error["message"]
    assert counts(ctx) == (0, 0)


def test_an_existing_branch_creates_the_project_and_deploys_the_checked_head(
    api: Any, public_repo: Repo
) -> None:
    client, headers, ctx = api
    response = client.post("/api/projects", json=body(public_repo.url), headers=headers)
    assert response.status_code == 201, response.text
    deployment = client.get(
        f"/api/deployments/{response.json()['deployment_id']}", headers=headers
    ).json()
    assert deployment["commit_sha"] == public_repo.head()
    assert counts(ctx) == (1, 1)


def test_a_repository_that_does_not_exist_is_a_422_on_repo_url(
    api: Any, git_server: GitServer
) -> None:
    client, headers, ctx = api
    url = f"http://{git_server.host}/nothing-here.git"
    response = client.post("/api/projects", json=body(url), headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "repo_url"
    assert counts(ctx) == (0, 0)


def test_a_private_repository_needs_credentials(api: Any, private_repo: Repo) -> None:
    client, headers, ctx = api
    response = client.post("/api/projects", json=body(private_repo.url), headers=headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["field"], error["code"]) == ("repo_url", "git_credentials_required")
    assert counts(ctx) == (0, 0)


def test_wrong_credentials_are_a_422_on_the_password_and_never_echoed(
    api: Any, private_repo: Repo
) -> None:
    client, headers, ctx = api
    wrong = body(private_repo.url, git_username="ci", git_password=SECRET + "x")
    response = client.post("/api/projects", json=wrong, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "git_password"
    assert SECRET not in response.text
    assert counts(ctx) == (0, 0)


def test_the_right_credentials_create_the_project(api: Any, private_repo: Repo) -> None:
    client, headers, _ctx = api
    right = body(private_repo.url, git_username="ci", git_password=SECRET)
    response = client.post("/api/projects", json=right, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["has_git_credential"] is True
    assert SECRET not in response.text


def test_an_unreachable_host_is_a_422_on_repo_url(api: Any) -> None:
    client, headers, ctx = api
    response = client.post("/api/projects", json=body(f"http://{DEAD_HOST}/r.git"), headers=headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["field"], error["code"]) == ("repo_url", "repository_unreachable")
    assert counts(ctx) == (0, 0)


def test_every_bad_field_is_reported_at_once(api: Any, public_repo: Repo) -> None:
    client, headers, ctx = api
    bad = body(
        "https://evil.example/o/r.git",
        name="Not A Label",
        branch="bad..branch",
        health_check_path="no-slash",
        env_vars={"1BAD": "x"},
    )
    response = client.post("/api/projects", json=bad, headers=headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    fields = {item["field"] for item in error["errors"]}
    assert {"name", "repo_url", "branch", "health_check_path", "env_vars.1BAD"} <= fields
    assert error["field"] == error["errors"][0]["field"]
    assert counts(ctx) == (0, 0)


def test_changing_the_branch_to_a_missing_one_is_refused_and_changes_nothing(
    api: Any, public_repo: Repo
) -> None:
    client, headers, _ctx = api
    created = client.post("/api/projects", json=body(public_repo.url), headers=headers).json()
    response = client.patch(
        f"/api/projects/{created['id']}", json={"branch": "gone"}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "branch"
    assert client.get(f"/api/projects/{created['id']}", headers=headers).json()["branch"] == "main"


def test_changing_the_source_to_a_private_repository_checks_the_new_credential(
    api: Any, public_repo: Repo, private_repo: Repo
) -> None:
    client, headers, _ctx = api
    created = client.post("/api/projects", json=body(public_repo.url), headers=headers).json()
    url = f"/api/projects/{created['id']}"
    moved = {"repo_url": private_repo.url, "git_username": "ci"}
    refused = client.patch(url, json={**moved, "git_password": "nope"}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "git_password"
    assert client.get(url, headers=headers).json()["repo_url"] == public_repo.url
    accepted = client.patch(url, json={**moved, "git_password": SECRET}, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["repo_url"] == private_repo.url
    # Later edits that leave the source alone do not need the Git host.
    assert client.patch(url, json={"start_command": "true"}, headers=headers).status_code == 200
