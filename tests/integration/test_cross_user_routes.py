"""A second, non-admin user gets 404 on EVERY project and deployment route of someone else's
project, API and dashboard alike, and nothing changes: update, delete, redeploy, rollback,
cancel, history, deployment JSON, build log, app log, and both logs as streams.

The routes are enumerated from the app itself (the OpenAPI description and the dashboard's
routers), so a route added later is covered without editing this test. Against real
deployments: a project deployed twice from the local git server, both releases real."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from nanoscale.app import create_app
from nanoscale.dashboard import (
    pages_auth,
    pages_overview,
    pages_project,
    pages_project_actions,
    pages_projects,
    pages_settings,
)
from nanoscale.settings import Settings
from tests.support.api import bearer, create_user, fast_password_hashing, login
from tests.support.db_snapshot import snapshot
from tests.support.deploy import APPS, deploy_settings_overrides
from tests.support.deploy_api import Api, open_api
from tests.support.git_server import GitServer

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

EVE = ("eve", "eve's long password")
DASHBOARD_MODULES = (
    pages_auth, pages_overview, pages_projects, pages_project, pages_project_actions,
    pages_settings,
)  # fmt: skip
SCOPED = ("{project_id}", "{deployment_id}")


@pytest.fixture
def api(
    make_settings: Callable[..., Settings], git_server: GitServer, deploy_data_dir: Path
) -> Iterator[Api]:
    settings = make_settings(**deploy_settings_overrides(deploy_data_dir, git_server))
    with open_api(settings, git_server) as api:
        yield api


def _api_routes(client: TestClient) -> list[tuple[str, str]]:
    paths = client.get("/api/openapi.json").json()["paths"]
    return sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        if any(p in path for p in SCOPED)
        for method in operations
    )


def _dashboard_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for module in DASHBOARD_MODULES
        for route in module.router.routes
        if isinstance(route, APIRoute) and any(p in route.path for p in SCOPED)
        for method in route.methods
    )


def _admin_world(api: Api) -> dict[str, Any]:
    """The admin's project, deployed twice (v1 then v2, both live in turn)."""
    repo = api.deploy.git.create_repo("shop")
    repo.commit_tree(APPS / "node", "v1")
    project = api.create("shop", repo.url)
    api.deploy.run_until_idle()
    repo.commit_tree(APPS / "node", "v2", extra={"version.txt": "v2\n"})
    second = api.post(f"/api/projects/{project['id']}/redeploy", {})
    api.deploy.run_until_idle()
    assert api.get(f"/api/deployments/{second['deployment_id']}")["state"] == "live"
    assert api.get(f"/api/projects/{project['id']}")["status"] == "live"
    return {
        "project": project,
        "repo_url": repo.url,
        "old_deployment": project["deployment_id"],
        "deployment": second["deployment_id"],
    }


def _eve(api: Api, world: dict[str, Any]) -> tuple[TestClient, dict[str, str], dict[str, str]]:
    """Eve's own client: (client, cookie headers with CSRF, bearer headers); she owns a
    project too, so mixed ids (her project, the admin's deployment) are tried as well."""
    create_user(api.client, api.headers, *EVE)
    eve = TestClient(create_app(api.deploy.ctx.settings, context=api.deploy.ctx))
    cookie_headers = login(eve, *EVE)
    bearer_headers = bearer(eve, cookie_headers, "eve-ci")
    own = eve.post(
        "/api/projects",
        json={"name": "eve-blog", "repo_url": world["repo_url"], "start_command": "node x"},
        headers=cookie_headers,
    )
    assert own.status_code == 201, own.text
    world["eve_project"] = own.json()["id"]
    return eve, cookie_headers, bearer_headers


def _path_variants(path: str, world: dict[str, Any]) -> list[str]:
    admin_ids = {
        "project_id": world["project"]["id"],
        "deployment_id": world["deployment"],
    }
    variants = [path.format(**admin_ids)]
    if "{project_id}" in path and "{deployment_id}" in path:
        # Her own project with the admin's deployment: the pair must match, not each part.
        variants.append(
            path.format(project_id=world["eve_project"], deployment_id=world["deployment"])
        )
    return variants


def _api_body(method: str, path: str, world: dict[str, Any]) -> dict[str, Any] | None:
    if path.endswith("/rollback"):
        return {"deployment_id": world["old_deployment"]}
    if method == "PATCH":
        return {"branch": "hijacked", "start_command": "node evil.js"}
    if method == "POST":
        return {}
    return None


def _form(world: dict[str, Any], csrf: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "deployment_id": world["old_deployment"],
        "confirm_name": world["project"]["name"],
        "name": world["project"]["name"],
        "repo_url": world["repo_url"],
        "branch": "hijacked",
        "start_command": "node evil.js",
    }


def test_a_second_user_gets_404_on_every_route_of_another_users_project(api: Api) -> None:
    world = _admin_world(api)
    eve, cookie_headers, bearer_headers = _eve(api, world)
    context = api.deploy.ctx
    api_routes, dashboard_routes = _api_routes(eve), _dashboard_routes()
    assert len(api_routes) >= 10 and len(dashboard_routes) >= 10
    tried: set[tuple[str, str]] = set()
    before = snapshot(context)

    for method, template in api_routes:
        for path in _path_variants(template, world):
            for headers in (cookie_headers, bearer_headers):
                for accept in ("application/json", "text/event-stream"):
                    response = eve.request(
                        method, path, json=_api_body(method, template, world),
                        headers={**headers, "Accept": accept},
                    )  # fmt: skip
                    assert response.status_code == 404, (method, path, response.text)
                    assert response.json()["error"]["code"].endswith("not_found")
                    tried.add((method, template))
    for method, template in dashboard_routes:
        for path in _path_variants(template, world):
            if method == "GET":
                response = eve.get(path, headers={"Accept": "text/html"})
            else:
                form = _form(world, cookie_headers["X-CSRF-Token"])
                response = eve.post(path, data=form, follow_redirects=False)
            assert response.status_code == 404, (method, path, response.text[:300])
            tried.add((method, template))

    assert snapshot(context) == before
    assert tried == set(api_routes) | set(dashboard_routes)
    # The same requests are well-formed: the owner reaches every read-only one.
    for method, template in api_routes + dashboard_routes:
        if method == "GET":
            path = _path_variants(template, world)[0]
            owner = api.client.get(path, headers=api.headers)
            assert owner.status_code == 200, (path, owner.text[:300])
