"""Projects through the JSON API: validation, uniqueness, ports, secrets, scoping, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nanoscale.context import AppContext
from nanoscale.projects import secrets
from nanoscale.projects.models import Project
from tests.support.api import (
    bearer,
    create_user,
    fast_password_hashing,
    make_client,
    project_body,
    setup_admin,
)

__all__ = ["fast_password_hashing", "make_client"]  # fixtures used here
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    """Bearer headers of the first admin (API-token scripts need no CSRF token)."""
    return bearer(client, {"X-CSRF-Token": setup_admin(client)})


def project_count(context: AppContext) -> int:
    with context.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(Project)) or 0)


def create(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post("/api/projects", json=project_body(**fields), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "Not_A_Label"}, "name"),
        ({"name": "-x"}, "name"),
        ({"branch": "a..b"}, "branch"),
        ({"branch": "main; rm -rf /"}, "branch"),
        ({"branch": "-upload-pack=evil"}, "branch"),
        ({"repo_url": "http://github.com/o/r"}, "repo_url"),
        ({"repo_url": "https://evil.example/o/r"}, "repo_url"),
        ({"repo_url": "https://tok:x@github.com/o/r"}, "repo_url"),
        ({"root_directory": "../outside"}, "root_directory"),
        ({"output_directory": "/abs"}, "output_directory"),
        ({"env_vars": {"1BAD": "x"}}, "env_vars.1BAD"),
        ({"domain": "not a host"}, "domain"),
        ({"domain": "shop.localhost"}, "domain"),
        ({"health_check_path": "nope"}, "health_check_path"),
        ({"git_password": "s3cret-token"}, "git_username"),
        ({"start_command": "run\x00"}, "start_command"),
        ({"port": "ignored", "name": 7}, "name"),
    ],
)
def test_invalid_fields_are_422_naming_the_field_and_create_nothing(
    client: TestClient,
    context: AppContext,
    admin: dict[str, str],
    overrides: dict[str, Any],
    field: str,
) -> None:
    response = client.post("/api/projects", json=project_body(**overrides), headers=admin)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert error["code"] == "invalid_input"
    assert "s3cret-token" not in response.text
    assert project_count(context) == 0


def test_valid_git_branch_names_are_accepted(client: TestClient, admin: dict[str, str]) -> None:
    assert create(client, admin, name="a", branch="feature/x")["branch"] == "feature/x"
    assert create(client, admin, name="b", branch="v1.2")["branch"] == "v1.2"


def test_duplicate_name_or_domain_is_409(client: TestClient, admin: dict[str, str]) -> None:
    create(client, admin, name="shop", domain="shop.example.com")
    again = client.post("/api/projects", json=project_body(name="SHOP"), headers=admin)
    assert again.status_code == 409
    assert again.json()["error"]["field"] == "name"
    taken = client.post(
        "/api/projects", json=project_body(name="other", domain="Shop.Example.com"), headers=admin
    )
    assert taken.status_code == 409
    assert taken.json()["error"]["field"] == "domain"


def test_a_project_cannot_be_renamed_but_may_send_its_own_name_back(
    client: TestClient, admin: dict[str, str]
) -> None:
    # The name is the project's host name, system user and unit names: renaming in place would
    # strand the running release, its route and its user under the old name.
    project = create(client, admin, name="named-once")
    url = f"/api/projects/{project['id']}"
    before = client.get(url, headers=admin).json()

    renamed = client.patch(url, json={"name": "renamed", "branch": "dev"}, headers=admin)
    assert renamed.status_code == 409  # a valid name, but it conflicts with the project's
    assert renamed.json()["error"]["code"] == "name_immutable"
    assert renamed.json()["error"]["field"] == "name"
    assert client.get(url, headers=admin).json() == before

    same = client.patch(url, json={"name": "Named-Once", "branch": "dev"}, headers=admin)
    assert same.status_code == 200, same.text
    assert (same.json()["name"], same.json()["branch"]) == ("named-once", "dev")


def test_ports_are_allocated_from_the_range_and_never_shared(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(port_range_start=24000, port_range_end=24002)
    headers = bearer(client, {"X-CSRF-Token": setup_admin(client)})
    ports = [create(client, headers, name=f"p{i}")["port"] for i in range(3)]
    assert sorted(ports) == [24000, 24001, 24002]
    full = client.post("/api/projects", json=project_body(name="p3"), headers=headers)
    assert full.status_code == 503
    assert full.json()["error"]["code"] == "port_range_exhausted"
    victim = client.get("/api/projects", headers=headers).json()[1]
    assert client.delete(f"/api/projects/{victim['id']}", headers=headers).status_code == 204
    assert create(client, headers, name="p4")["port"] == victim["port"]


def test_env_vars_are_encrypted_at_rest_and_only_keys_are_returned(
    client: TestClient, context: AppContext, admin: dict[str, str]
) -> None:
    project = create(client, admin, env_vars={"API_KEY": "sk-live-123456", "MODE": "prod"})
    assert project["env_var_keys"] == ["API_KEY", "MODE"]
    for response in (
        client.get(f"/api/projects/{project['id']}", headers=admin),
        client.get("/api/projects", headers=admin),
    ):
        assert "sk-live-123456" not in response.text
    with context.sessions() as db:
        row = db.get(Project, project["id"])
        assert row is not None and row.env_vars_encrypted is not None
        assert "sk-live-123456" not in row.env_vars_encrypted
        assert "API_KEY" not in row.env_vars_encrypted
        assert secrets.read_env_vars(row, keyring=context.keyring) == {
            "API_KEY": "sk-live-123456",
            "MODE": "prod",
        }


def test_patch_sets_and_unsets_individual_env_vars(
    client: TestClient, context: AppContext, admin: dict[str, str]
) -> None:
    project = create(client, admin, env_vars={"A": "1", "B": "2"})
    url = f"/api/projects/{project['id']}"
    response = client.patch(url, json={"env_vars": {"A": None, "C": "3"}}, headers=admin)
    assert response.status_code == 200
    assert response.json()["env_var_keys"] == ["B", "C"]
    with context.sessions() as db:
        row = db.get(Project, project["id"])
        assert row is not None
        assert secrets.read_env_vars(row, keyring=context.keyring) == {"B": "2", "C": "3"}


def test_git_credentials_are_write_only(
    client: TestClient, context: AppContext, admin: dict[str, str]
) -> None:
    project = create(client, admin, git_username="deploy", git_password="glpat-secret-999")
    assert project["has_git_credential"] is True
    assert "glpat-secret-999" not in json.dumps(project)
    with context.sessions() as db:
        row = db.get(Project, project["id"])
        assert row is not None and "glpat-secret-999" not in (row.git_password_encrypted or "")
        assert secrets.read_git_credential(row, keyring=context.keyring) == (
            "deploy",
            "glpat-secret-999",
        )
    url = f"/api/projects/{project['id']}"
    cleared = client.patch(url, json={"git_password": None}, headers=admin)
    assert cleared.json()["has_git_credential"] is False


def test_rejected_patch_changes_nothing(client: TestClient, admin: dict[str, str]) -> None:
    project = create(client, admin, env_vars={"A": "1"})
    url = f"/api/projects/{project['id']}"
    before = client.get(url, headers=admin).json()
    bad = client.patch(
        url, json={"branch": "ok-branch", "env_vars": {"B": "2"}, "domain": "-bad-"}, headers=admin
    )
    assert bad.status_code == 422
    assert client.get(url, headers=admin).json() == before
    null_name = client.patch(url, json={"name": None}, headers=admin)
    assert null_name.status_code == 422
    assert null_name.json()["error"]["field"] == "name"


def test_admin_sees_every_project_and_users_see_their_own(
    client: TestClient, admin: dict[str, str]
) -> None:
    csrf = client.get("/api/auth/session").json()["csrf_token"]
    create_user(client, {"X-CSRF-Token": csrf}, "bob", "bob password 1")
    bob = TestClient(client.app)
    bob_auth = bearer(bob, {"X-CSRF-Token": _login(bob, "bob", "bob password 1")})
    create(client, admin, name="admins-app")
    bobs = create(bob, bob_auth, name="bobs-app")
    assert [p["name"] for p in bob.get("/api/projects", headers=bob_auth).json()] == ["bobs-app"]
    all_names = [p["name"] for p in client.get("/api/projects", headers=admin).json()]
    assert all_names == ["admins-app", "bobs-app"]
    assert client.get(f"/api/projects/{bobs['id']}", headers=admin).status_code == 200


def _login(client: TestClient, username: str, password: str) -> str:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    return str(response.json()["csrf_token"])


def test_unknown_project_is_404_in_the_error_format(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.get("/api/projects/" + "0" * 32, headers=admin)
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message", "field"}


def test_oversized_body_is_413_and_creates_nothing(
    client: TestClient, context: AppContext, admin: dict[str, str]
) -> None:
    huge = project_body(env_vars={"BIG": "x" * (context.settings.max_body_bytes + 10)})
    response = client.post("/api/projects", json=huge, headers=admin)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert project_count(context) == 0


def test_malformed_json_is_400(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/api/projects",
        content=b'{"name": "x",',
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_body"


def test_a_port_taken_concurrently_is_retried_with_the_next_free_one(
    client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nanoscale.projects import uniqueness

    first = create(client, admin, name="first")
    real_free_port = uniqueness.free_port
    stale = iter([first["port"]])  # what a concurrent request would have seen

    def racing_free_port(*args: Any) -> int:
        return next(stale, None) or real_free_port(*args)

    monkeypatch.setattr(uniqueness, "free_port", racing_free_port)
    second = create(client, admin, name="second")
    assert second["port"] != first["port"]
    assert len({p["port"] for p in client.get("/api/projects", headers=admin).json()}) == 2


def test_another_user_cannot_take_a_domain_already_served_by_a_project(
    client: TestClient, admin: dict[str, str], context: AppContext
) -> None:
    create(client, admin, name="shop", domain="shop.example.com")
    create_user(client, admin, "eve", "eve's long password")
    client.cookies.clear()
    login = client.post(
        "/api/auth/login", json={"username": "eve", "password": "eve's long password"}
    )
    eve_headers = {"X-CSRF-Token": login.json()["csrf_token"]}
    own = create(client, eve_headers, name="blog")

    claimed = client.post(
        "/api/projects", json=project_body(name="shop2", domain="SHOP.example.com."),
        headers=eve_headers,
    )  # fmt: skip
    moved = client.patch(
        f"/api/projects/{own['id']}", json={"domain": "shop.example.com"}, headers=eve_headers
    )

    assert (claimed.status_code, moved.status_code) == (409, 409)
    assert claimed.json()["error"]["field"] == moved.json()["error"]["field"] == "domain"
    assert project_count(context) == 2
    with context.sessions() as db:
        rows = db.execute(select(Project.name, Project.domain)).all()
    domains = {row[0]: row[1] for row in rows}
    assert domains == {"shop": "shop.example.com", "blog": None}
