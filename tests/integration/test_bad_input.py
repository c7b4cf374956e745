"""Property-based bad input against every endpoint in our own OpenAPI description.

Schemathesis generates bodies, path parameters and query strings from /api/openapi.json, both
schema-conforming and schema-violating; hypothesis adds arbitrary extra headers, query
parameters and credentials. Every response must be below 500, and a rejected request (4xx)
must leave the database exactly as it was. Runtime is bounded: few examples per endpoint and
mode, derandomized, so the run is the same every time.

The ids in paths are real too: a project deployed from the local git server (no network), so
deployment routes (logs, cancel, rollback, redeploy) meet a real, live deployment. Requests
come as the admin and as a second, non-admin user (cookie and token), who owns nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from nanoscale.app import create_app
from nanoscale.context import AppContext
from nanoscale.settings import Settings
from tests.support.api import (
    ADMIN,
    bearer,
    create_user,
    fast_password_hashing,
    login,
    project_body,
)
from tests.support.db_snapshot import snapshot
from tests.support.deploy import APPS, DeployHarness, deploy_harness, deploy_settings_overrides
from tests.support.git_server import GitServer

EXAMPLES_PER_MODE = 8

# Printable ASCII; no surrounding whitespace, which the HTTP client itself refuses to send.
_header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(
    str.strip
)
extra_headers = st.dictionaries(
    st.sampled_from(
        ["X-CSRF-Token", "Origin", "Referer", "X-Forwarded-For", "Accept", "X-Anything",
         "Accept-Language", "If-None-Match"]
    ),
    _header_text,
    max_size=3,
)  # fmt: skip
extra_query = st.dictionaries(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=10),
    st.text(max_size=20),
    max_size=2,
)

__all__ = ["fast_password_hashing"]  # a fixture used here
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def harness(
    make_settings: Callable[..., Settings],
    database_url: str,
    git_server: GitServer,
    deploy_data_dir: Path,
) -> Iterator[DeployHarness]:
    overrides = deploy_settings_overrides(deploy_data_dir, git_server)
    settings = make_settings(database_url=database_url, **overrides)
    with deploy_harness(settings, git_server) as harness:
        yield harness


@pytest.fixture
def context(harness: DeployHarness) -> AppContext:
    return harness.ctx


@pytest.fixture
def client(context: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context.settings, context=context)) as test_client:
        yield test_client


def _second_user(client: TestClient, username: str, password: str) -> dict[str, Any]:
    """A fresh login from a client of its own: its cookie, CSRF token and an API token."""
    other = TestClient(client.app)
    csrf = login(other, username, password)["X-CSRF-Token"]
    return {
        "cookie": {"nanoscale_session": other.cookies["nanoscale_session"]},
        "csrf": csrf,
        "bearer": bearer(other, {"X-CSRF-Token": csrf}, username),
    }


@pytest.fixture
def world(client: TestClient, harness: DeployHarness) -> dict[str, Any]:
    """An admin with a cookie session and an API token, a second user (bob) with his own,
    a project really deployed (live) from the local git server, a spare token."""
    csrf = client.post("/api/auth/setup", json={"username": ADMIN[0], "password": ADMIN[1]}).json()[
        "csrf_token"
    ]
    headers = {"X-CSRF-Token": csrf}
    auth = bearer(client, headers, "fuzz")
    spare = client.post("/api/tokens", json={"name": "spare"}, headers=headers).json()
    bob = create_user(client, headers, "bob", "bob password 1")
    bob_auth = _second_user(client, "bob", "bob password 1")
    repo = harness.git.create_repo("fuzz")
    repo.commit_tree(APPS / "node", "v1")
    name = f"fuzz-{secrets.token_hex(3)}"  # project users are named after projects
    body = project_body(name=name, repo_url=repo.url, start_command="node server.js",
                        install_command="", env_vars={"A": "1"})  # fmt: skip
    project = client.post("/api/projects", json=body, headers=auth).json()
    harness.run_until_idle()
    deployment = client.get(f"/api/deployments/{project['deployment_id']}", headers=auth).json()
    assert deployment["state"] == "live", deployment
    return {
        "bearer": auth,
        "cookie": {"nanoscale_session": client.cookies["nanoscale_session"]},
        "csrf": csrf,
        "bob": bob_auth,
        "ids": {"project_id": project["id"], "user_id": bob["id"], "token_id": spare["id"],
                "deployment_id": project["deployment_id"]},
    }  # fmt: skip


def _auth_variants(
    world: dict[str, Any],
) -> st.SearchStrategy[tuple[dict[str, str], dict[str, str]]]:
    """(headers, cookies): the admin's bearer token, cookie with CSRF and without; the same
    for bob (a non-admin owning nothing); a forged token; nothing."""
    cookie, csrf = world["cookie"], {"X-CSRF-Token": world["csrf"]}
    bob = world["bob"]
    bob_cookie, bob_csrf = bob["cookie"], {"X-CSRF-Token": bob["csrf"]}
    return st.sampled_from(
        [
            (world["bearer"], {}),
            (world["bearer"], {}),
            (csrf, cookie),
            ({}, cookie),
            (bob["bearer"], {}),
            (bob_csrf, bob_cookie),
            ({"Authorization": "Bearer nst_forged"}, {}),
            ({}, {}),
        ]
    )


@pytest.mark.parametrize("mode", [GenerationMode.NEGATIVE, GenerationMode.POSITIVE])
def test_generated_requests_never_5xx_and_rejections_change_nothing(
    client: TestClient, context: AppContext, world: dict[str, Any], mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18  # auth, users, tokens, projects (+ deployments)
    seen: list[tuple[str, int]] = []
    accepted: list[tuple[str, str]] = []  # schema-violating requests the server took

    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        real = {k: v for k, v in world["ids"].items() if k in names}
        cases = operation.as_strategy(generation_mode=mode)
        if real:
            cases = st.one_of(
                cases, operation.as_strategy(generation_mode=mode, path_parameters=real)
            )

        @settings(
            max_examples=EXAMPLES_PER_MODE,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases, auth=_auth_variants(world), headers=extra_headers, query=extra_query)
        def check(case: Any, auth: Any, headers: dict[str, str], query: dict[str, str]) -> None:
            auth_headers, cookies = auth
            before = snapshot(context)
            response = case.call(
                headers={**headers, **auth_headers}, cookies=cookies, params=query or None
            )
            label = f"{case.method} {case.formatted_path}"
            seen.append((case.operation.label, response.status_code))
            # Schemathesis re-checks a mutated case: one it could not make invalid is positive.
            truly_negative = case.meta is None or case.meta.generation.mode == mode
            if mode == GenerationMode.NEGATIVE and truly_negative and response.status_code < 400:
                accepted.append((label, repr(case.body)[:200]))
            assert response.status_code < 500, f"{label} -> {response.status_code}: {response.text}"
            if 400 <= response.status_code < 500:
                assert snapshot(context) == before, f"{label} was rejected but changed state"
                body = response.json()
                error = body["error"]
                assert set(error) - {"errors"} == {"code", "message", "field"}, label
                for item in error.get("errors", []):  # several fields at once
                    assert set(item) == {"code", "message", "field"}, label
                assert "Traceback" not in response.text

        try:
            check()
        except Unsatisfiable:
            # Negative mode on an operation with nothing to violate (e.g. no parameters).
            assert mode == GenerationMode.NEGATIVE, operation.label
    # The run really exercised the operations and reached both outcomes. (Negative mode has
    # nothing to violate in an operation whose only input is a free-form path string.)
    exercised = {label for label, _ in seen}
    if mode == GenerationMode.POSITIVE:
        assert exercised == {op.label for op in operations}
    else:
        assert exercised >= {op.label for op in operations if len(op.body)}
    statuses = {status for _, status in seen}
    if mode == GenerationMode.POSITIVE:
        assert any(s < 300 for s in statuses) and any(400 <= s < 500 for s in statuses)
    else:  # input that violates the schema is always refused
        assert any(400 <= s < 500 for s in statuses), statuses
        assert not accepted, accepted


def test_oversized_bodies_get_413_on_every_endpoint_that_takes_one(
    client: TestClient, context: AppContext, world: dict[str, Any]
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    big = b"{" + b" " * (context.settings.max_body_bytes + 1) + b"}"
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() not in {"POST", "PATCH", "PUT"}:
            continue
        path = operation.path.format(**world["ids"])
        before = snapshot(context)
        response = client.request(
            operation.method.upper(),
            path,
            content=big,
            headers={**world["bearer"], "Content-Type": "application/json"},
        )
        assert response.status_code == 413, f"{operation.method} {path}"
        assert snapshot(context) == before


def test_control_characters_in_ids_and_usernames_are_4xx_on_every_backend(
    client: TestClient, context: AppContext, world: dict[str, Any]
) -> None:
    # PostgreSQL refuses to even compare a string holding NUL; the generator rarely makes one.
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    before = snapshot(context)
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path_parameters:
            continue
        path = operation.path.format(**{p.name: "a%00b" for p in operation.path_parameters})
        response = client.request(operation.method.upper(), path, headers=world["bearer"])
        assert response.status_code == 404, f"{operation.method} {path}"
    for username in ("a\x00b", "ad\nmin"):
        body = {"username": username, "password": "whatever-1"}
        assert client.post("/api/auth/login", json=body).status_code == 422
    assert snapshot(context) == before
