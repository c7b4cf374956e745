"""Logging through the real configured processors, read from stderr as an operator sees it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from nanoscale.logs import MASK, configure_logging, get_logger

TOKEN = "ghs_" + "A1b2C3d4" * 5
PASSWORD = "hunter2-but-longer"


@pytest.fixture(autouse=True)
def restore_structlog() -> Iterator[None]:
    config = structlog.get_config()
    yield
    structlog.configure(**config)


def json_lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_production_logs_are_one_json_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(production=True)
    get_logger("nanoscale.test").info("deploy.step.finished", step="build", deployment_id="d1")
    (entry,) = json_lines(capsys.readouterr().err)
    assert entry["event"] == "deploy.step.finished"
    assert (entry["step"], entry["deployment_id"], entry["level"]) == ("build", "d1", "info")
    assert entry["timestamp"].endswith("Z")


def test_development_logs_are_readable_text(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(production=False)
    get_logger("nanoscale.test").info("deploy.step.finished", step="build")
    err = capsys.readouterr().err
    assert "deploy.step.finished" in err and "step=build" in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err)


def test_secret_keys_and_token_shaped_values_are_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(production=True)
    get_logger("nanoscale.test").warning(
        "git.fetch.failed",
        password=PASSWORD,
        api_token="nst_plain-value",
        error=f"clone of https://x-access-token:{TOKEN}@github.com/o/r failed",
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "json"},
        remote=f"https://user:{PASSWORD}@git.example.org/o/r",
    )
    err = capsys.readouterr().err
    (entry,) = json_lines(err)
    assert (entry["password"], entry["api_token"]) == (MASK, MASK)
    assert entry["headers"] == {"Authorization": MASK, "Accept": "json"}
    assert entry["error"] == f"clone of https://{MASK}@github.com/o/r failed"
    assert entry["remote"] == f"https://{MASK}@git.example.org/o/r"
    for secret in (TOKEN, PASSWORD, "nst_plain-value"):
        assert secret not in err


def test_the_log_level_filters_lower_levels(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(production=True, level="warning")
    log = get_logger("nanoscale.test")
    log.info("quiet.event")
    log.warning("loud.event")
    assert [e["event"] for e in json_lines(capsys.readouterr().err)] == ["loud.event"]


@pytest.mark.parametrize("production", [True, False])
def test_a_logged_exception_carrying_a_token_is_masked_in_its_traceback(
    capsys: pytest.CaptureFixture[str], production: bool
) -> None:
    configure_logging(production=production)

    def clone() -> None:
        raise RuntimeError(f"git clone https://x-access-token:{TOKEN}@github.com/o/r failed")

    try:
        clone()
    except RuntimeError:
        get_logger("nanoscale.test").exception("git.fetch.crashed")
    err = capsys.readouterr().err
    assert "RuntimeError" in err and "Traceback" in err  # the traceback is still there
    assert TOKEN not in err
    assert MASK in err
