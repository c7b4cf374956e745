"""NANOSCALE_MAX_BODY_BYTES: 413 for declared and streamed (chunked) bodies, before the app
reads them; JSON for the API, an HTML page for the dashboard."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nanoscale.context import AppContext, build_context
from nanoscale.db.migrate import upgrade
from nanoscale.projects.models import Project
from nanoscale.settings import Settings
from tests.support.api import bearer, fast_password_hashing, project_body, setup_admin
from tests.support.live_server import live_server
from tests.support.ports import free_port

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

CHUNK = 4096


def chunks(payload: bytes) -> Iterator[bytes]:
    """A generator body: httpx sends it chunked, without a Content-Length."""
    for start in range(0, len(payload), CHUNK):
        yield payload[start : start + CHUNK]


def oversized_project(limit: int) -> bytes:
    return json.dumps(project_body(env_vars={"BIG": "x" * limit})).encode()


def project_count(context: AppContext) -> int:
    with context.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(Project)) or 0)


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return bearer(client, {"X-CSRF-Token": setup_admin(client)})


def test_a_streamed_json_body_over_the_limit_is_413_and_creates_nothing(
    client: TestClient, context: AppContext, admin: dict[str, str]
) -> None:
    payload = oversized_project(context.settings.max_body_bytes)
    response = client.post(
        "/api/projects",
        content=chunks(payload),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert project_count(context) == 0


def test_a_streamed_json_body_under_the_limit_reaches_the_app_whole(
    client: TestClient, context: AppContext, admin: dict[str, str]
) -> None:
    payload = json.dumps(project_body(env_vars={"SMALL": "y" * 3 * CHUNK})).encode()
    response = client.post(
        "/api/projects",
        content=chunks(payload),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["env_var_keys"] == ["SMALL"]


@pytest.mark.parametrize("streamed", [False, True])
def test_dashboard_forms_over_the_limit_get_an_html_413_page(
    client: TestClient, context: AppContext, streamed: bool
) -> None:
    form = b"username=admin&password=" + b"x" * context.settings.max_body_bytes
    response = client.post(
        "/login",
        content=chunks(form) if streamed else form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "Request too large" in response.text


def test_a_raw_chunked_request_over_the_limit_gets_413_from_the_real_server(
    make_settings: Callable[..., Settings],
) -> None:
    context = build_context(make_settings(port=free_port(), max_body_bytes=2048))
    upgrade(context.engine)
    try:
        with live_server(context) as url:
            status_line = _raw_chunked_post(url, "/api/auth/login", b"{" + b" " * 8192 + b"}")
    finally:
        context.close()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line


def _raw_chunked_post(url: str, path: str, body: bytes) -> bytes:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for start in range(0, len(body), 1024):
                piece = body[start : start + 1024]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before the body ends
        return sock.makefile("rb").readline()
