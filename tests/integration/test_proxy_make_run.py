"""`make run`'s configuration (settings defaults): `nanoscale serve` runs its own Caddy, and a
project's URL, `http://<project>.localhost:<port>`, answers across a redeploy and a rollback.

Only what parallel test runs need differs from the defaults: free ports for the orchestrator
and Caddy's listener, a temp data dir, and the local git server allowed."""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from nanoscale.engine.proxy.managed import caddy_binary
from tests.e2e.harness import NanoScaleServer
from tests.support.deploy import APPS, traversable_dir
from tests.support.git_server import GitServer
from tests.support.ports import free_port

pytestmark = [
    pytest.mark.caddy,
    pytest.mark.skipif(caddy_binary() is None, reason="needs Debian's caddy"),
]

DEPLOY_TIMEOUT = 180.0


@pytest.fixture
def server(git_server: GitServer) -> Iterator[tuple[NanoScaleServer, int]]:
    with traversable_dir("nanoscale-run-") as root:
        instance = NanoScaleServer(root, git_hosts=[git_server.host])
        instance.env = {k: v for k, v in instance.env.items() if k != "NANOSCALE_PROXY"}
        for name in ("NANOSCALE_RUNTIME", "NANOSCALE_WORKER_POLL_SECONDS"):
            instance.env.pop(name)  # defaults, as `make run` has them
        proxy_port = free_port()
        instance.env["NANOSCALE_PROXY_HTTP_PORT"] = str(proxy_port)
        with instance:
            yield instance, proxy_port


class Client:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        admin = {"username": "admin", "password": "a long password"}
        setup = self.http.post("/api/auth/setup", json=admin)
        assert setup.status_code == 201, setup.text
        self.headers = {"X-CSRF-Token": setup.json()["csrf_token"]}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body, headers=self.headers)
        assert response.status_code < 300, response.text
        return response.json()

    def wait_live(self, deployment_id: str) -> None:
        deadline = time.monotonic() + DEPLOY_TIMEOUT
        while time.monotonic() < deadline:
            state = self.call("GET", f"/api/deployments/{deployment_id}")["state"]
            if state == "live":
                return
            assert state not in {"failed", "cancelled", "superseded"}, self.call(
                "GET", f"/api/deployments/{deployment_id}/logs"
            )
            time.sleep(0.3)
        raise AssertionError(f"deployment {deployment_id} did not go live")


def answer(url: str) -> str:
    """GET the URL as a browser would: `*.localhost` names are loopback (RFC 6761)."""
    parts = urlsplit(url)
    response = httpx.get(
        f"http://127.0.0.1:{parts.port or 80}/", headers={"Host": parts.netloc}, timeout=10
    )
    return f"{response.status_code} {response.text}"


def test_the_project_url_answers_across_redeploy_and_rollback(
    server: tuple[NanoScaleServer, int], git_server: GitServer
) -> None:
    nanoscale, proxy_port = server
    assert "NanoScale's Caddy, started" in nanoscale.log_path.read_text()
    client = Client(nanoscale.url)
    try:
        url = check_url_across_redeploy_and_rollback(client, git_server, proxy_port)
    finally:
        client.http.close()
    caddy_home = nanoscale.root / "var" / "caddy"
    assert os.stat(caddy_home).st_mode & 0o777 == 0o700
    assert os.stat(caddy_home / "admin.sock").st_mode & 0o777 == 0o600

    os.kill(int((caddy_home / "caddy.pid").read_text()), signal.SIGKILL)  # Caddy dies
    deadline = time.monotonic() + 60  # the worker's periodic check starts it again
    while not answer_or_none(url) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert (answer_or_none(url) or "").startswith("200 v1 ")


def check_url_across_redeploy_and_rollback(
    client: Client, git_server: GitServer, proxy_port: int
) -> str:
    repo = git_server.create_repo("hello")
    first = repo.commit_tree(APPS / "python", "v1", extra={"version.txt": "v1\n"})
    name = f"hello-{secrets.token_hex(3)}"
    body = {"name": name, "repo_url": repo.url, "start_command": "python3 app.py"}
    created = client.call("POST", "/api/projects", body)
    client.wait_live(created["deployment_id"])

    url = client.call("GET", f"/api/projects/{created['id']}")["url"]
    assert url == f"http://{name}.localhost:{proxy_port}"
    assert answer(url) == f"200 v1 {first}\n"

    second = repo.commit({"version.txt": "v2\n"})
    redeploy = client.call("POST", f"/api/projects/{created['id']}/redeploy")
    client.wait_live(redeploy["deployment_id"])
    assert client.call("GET", f"/api/projects/{created['id']}")["url"] == url
    assert answer(url) == f"200 v2 {second}\n"

    rollback = client.call(
        "POST", f"/api/projects/{created['id']}/rollback",
        {"deployment_id": created["deployment_id"]},
    )  # fmt: skip
    client.wait_live(rollback["deployment_id"])
    assert client.call("GET", f"/api/projects/{created['id']}")["url"] == url
    assert answer(url) == f"200 v1 {first}\n"
    return str(url)


def answer_or_none(url: str) -> str | None:
    try:
        return answer(url)
    except httpx.TransportError:
        return None
