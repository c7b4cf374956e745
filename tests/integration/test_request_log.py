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
