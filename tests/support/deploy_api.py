"""The deployment API driven through a TestClient over a real deploy harness (git server,
worker, runtime): `open_api` yields an `Api` signed in as the first admin."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from nanoscale.app import create_app
from nanoscale.settings import Settings
from tests.support.api import setup_admin
from tests.support.deploy import DeployHarness, deploy_harness
from tests.support.git_server import GitServer


class Api:
    def __init__(self, client: TestClient, headers: dict[str, str], deploy: DeployHarness) -> None:
        self.client = client
        self.headers = headers
        self.deploy = deploy

    def post(self, path: str, body: dict[str, Any] | None = None, status: int = 202) -> Any:
        response = self.client.post(path, json=body, headers=self.headers)
        assert response.status_code == status, response.text
        return response.json()

    def get(self, path: str) -> Any:
        response = self.client.get(path, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def create(self, name: str, repo_url: str, **fields: Any) -> dict[str, Any]:
        name = f"{name}-{secrets.token_hex(3)}"  # project users are named after projects
        body = {"name": name, "repo_url": repo_url, "start_command": "node server.js", **fields}
        created: dict[str, Any] = self.post("/api/projects", body, status=201)
        return created

    def second_user(self, username: str = "eve") -> dict[str, str]:
        """Create a non-admin user and sign this client in as them; returns their headers."""
        self.client.post(
            "/api/users",
            json={"username": username, "password": "another long pw"},
            headers=self.headers,
        )
        self.client.post("/api/auth/logout", headers=self.headers)
        login = self.client.post(
            "/api/auth/login", json={"username": username, "password": "another long pw"}
        )
        assert login.status_code == 200, login.text
        return {"X-CSRF-Token": login.json()["csrf_token"]}


@contextmanager
def open_api(settings: Settings, git_server: GitServer) -> Iterator[Api]:
    with (
        deploy_harness(settings, git_server) as harness,
        TestClient(create_app(settings, context=harness.ctx)) as client,
    ):
        yield Api(client, {"X-CSRF-Token": setup_admin(client)}, harness)


def wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    """Poll until `predicate` holds (a readiness bound, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)
