"""/api/openapi.json is the contract scripts, CI jobs and generated clients rely on.

Schemathesis runs with all its checks against a live server (uvicorn on a real socket):
every status an answer has is documented with the error schema, every schema-valid request
is accepted and every schema-violating one refused, responses match their schemas, a
method a path does not have gets 405 with `Allow`, and auth is enforced where declared.
Runtime is bounded: few examples per operation, a fixed seed, deterministic generation.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from nanoscale.context import build_context
from nanoscale.db.migrate import upgrade
from nanoscale.settings import Settings
from tests.support.api import ADMIN, fast_password_hashing
from tests.support.live_server import live_server
from tests.support.ports import free_port

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")
MAX_EXAMPLES = 5
SEED = 20261201


@pytest.fixture
def server(make_settings: Callable[..., Settings]) -> Iterator[tuple[str, str]]:
    """A live orchestrator with its first admin set up; yields (base URL, API token)."""
    context = build_context(make_settings(port=free_port()))
    upgrade(context.engine)
    try:
        with live_server(context) as url, httpx.Client(base_url=url) as client:
            setup = client.post(
                "/api/auth/setup", json={"username": ADMIN[0], "password": ADMIN[1]}
            )
            csrf = {"X-CSRF-Token": setup.json()["csrf_token"]}
            token = client.post("/api/tokens", json={"name": "contract"}, headers=csrf).json()
            yield url, token["token"]
    finally:
        context.close()


def test_the_openapi_description_holds_under_every_schemathesis_check(
    server: tuple[str, str], tmp_path: Path
) -> None:
    url, token = server
    st = Path(sys.executable).with_name("st")
    run = subprocess.run(
        [
            str(st), "run", f"{url}/api/openapi.json",
            "--checks", "all",
            "--header", f"Authorization: Bearer {token}",
            "--max-examples", str(MAX_EXAMPLES),
            "--seed", str(SEED),
            "--generation-deterministic",
            "--phases", "examples,coverage,fuzzing",
            "--generation-codec", "utf-8",  # JSON text is UTF-8: no lone surrogates
            # It would revoke the token it runs with (it learns the id from GET /api/tokens);
            # test_bad_input.py fuzzes that operation.
            "--exclude-path", "/api/tokens/{token_id}",
            "--continue-on-failure",
            "--no-color",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )  # fmt: skip
    report = run.stdout[-20_000:] + run.stderr[-5_000:]
    assert run.returncode == 0, report
    assert "Authentication failed" not in run.stdout, report  # the run was really signed in


def test_every_error_answer_is_documented_with_the_error_schema(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if int(s) >= 400}
            for status, response in errors.items():
                body = response["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, (method, path, status)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/projects/some-id", "DELETE, GET, PATCH"),
        ("DELETE", "/api/auth/login", "POST"),
        ("PATCH", "/projects/new", "GET, POST"),  # a dashboard page answers in HTML
    ],
)
def test_a_method_the_path_lacks_gets_405_with_allow(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
