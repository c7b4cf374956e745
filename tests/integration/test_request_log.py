"""The per-request log line: method, path, status and duration; never the query string."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog
from fastapi.testclient import TestClient

from nanoscale.logs import configure_logging


@pytest.fixture
def restore_structlog() -> Iterator[None]:
    config = structlog.get_config()
    yield
    structlog.configure(**config)


@pytest.mark.usefixtures("restore_structlog")
def test_request_log_omits_the_query_string(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(production=True)  # here: it binds the stderr capsys captures now
    response = client.get("/api/health?token=query-secret-1&next=/x")
    assert response.status_code == 200
    err = capsys.readouterr().err
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    (entry,) = [e for e in entries if e["event"] == "http.request"]
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/api/health", 200)
    assert isinstance(entry["duration_ms"], float)
    assert "query-secret-1" not in err


def _request_lines(err: str) -> list[dict[str, object]]:
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [e for e in entries if e["event"] == "http.request"]


@pytest.mark.usefixtures("restore_structlog")
def test_static_files_and_htmx_requests_are_logged_at_debug_only(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(production=True, level="info")
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/favicon.ico").status_code == 200  # redirected to the static icon
    assert client.get("/setup", headers={"HX-Request": "true"}).status_code == 200
    assert client.get("/static/missing.css").status_code == 404  # failures stay visible
    assert client.get("/api/health").status_code == 200
    at_info = [(e["path"], e["level"]) for e in _request_lines(capsys.readouterr().err)]
    assert at_info == [("/static/missing.css", "info"), ("/api/health", "info")]

    configure_logging(production=True, level="debug")
    client.get("/static/app.css")
    client.get("/setup", headers={"HX-Request": "true"})
    at_debug = [(e["path"], e["level"]) for e in _request_lines(capsys.readouterr().err)]
    assert at_debug == [("/static/app.css", "debug"), ("/setup", "debug")]


def test_the_favicon_is_served(client: TestClient) -> None:
    response = client.get("/favicon.ico", follow_redirects=False)
    assert response.status_code == 301
    icon = client.get(response.headers["location"])
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon"' in client.get("/login").text
