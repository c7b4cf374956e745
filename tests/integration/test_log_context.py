"""Log lines carry their context without each call passing it: every line of one HTTP
request names its request id (also returned in `X-Request-ID`), every line of one deployment
names the deployment and its project."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from nanoscale.logs import configure_logging
from tests.support.deploy import DeployHarness


@pytest.fixture
def restore_structlog() -> Iterator[None]:
    config = structlog.get_config()
    yield
    structlog.configure(**config)


def _entries(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("restore_structlog")
def test_every_line_of_a_request_names_its_request_id(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(production=True)  # here: it binds the stderr capsys captures now
    first = client.post("/api/auth/login", json={"username": "nobody", "password": "wrong pw 1"})
    second = client.get("/api/health")

    entries = _entries(capsys.readouterr().err)
    ids = (first.headers["x-request-id"], second.headers["x-request-id"])
    assert ids[0] != ids[1]
    # Logged inside the handler (a worker thread) and by the request-log middleware.
    failed = [e for e in entries if e["event"] == "auth.login.failed"]
    assert [e["request_id"] for e in failed] == [ids[0]]
    requests = [e for e in entries if e["event"] == "http.request"]
    assert [e["request_id"] for e in requests] == list(ids)
    structlog.get_logger("test").info("test.after_requests")
    (after,) = [e for e in _entries(capsys.readouterr().err) if e["event"] == "test.after_requests"]
    assert "request_id" not in after


@pytest.mark.usefixtures("restore_structlog")
def test_every_line_of_a_deployment_names_it_and_its_project(
    deploy: DeployHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo)
    deployment_id = deploy.request(project, sha)

    configure_logging(production=True)
    deploy.run_until_idle()

    entries = _entries(capsys.readouterr().err)
    (live,) = [e for e in entries if e["event"] == "deploy.live"]
    assert (live["deployment_id"], live["project_id"]) == (deployment_id, project.id)
