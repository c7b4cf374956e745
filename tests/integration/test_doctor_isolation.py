"""`nanoscale doctor` reports the tenant isolation layers this host provides: the bubblewrap
sandbox (installed and working unprivileged) and cgroup resource limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nanoscale.context import AppContext
from nanoscale.crypto import generate_key
from nanoscale.engine.runtime import cgroups
from nanoscale.engine.runtime.sandbox import find_bwrap
from tests.support.cli import run_cli


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Path:
    for name in ("NANOSCALE_PROXY", "NANOSCALE_RUNTIME", "NANOSCALE_ENV", "NANOSCALE_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NANOSCALE_SANDBOX", "auto")
    monkeypatch.setenv("NANOSCALE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("NANOSCALE_DATABASE_URL", database_url)
    monkeypatch.setenv("NANOSCALE_SECRET_KEY", generate_key())
    return tmp_path / "var"


@pytest.mark.skipif(find_bwrap("auto") is None, reason="bubblewrap not installed")
def test_doctor_finds_a_working_sandbox(env: Path, context: AppContext) -> None:
    result = run_cli("doctor")
    assert "ok    sandbox: bubblewrap" in result.output, result.output


@pytest.mark.skipif(
    os.geteuid() != 0 or cgroups.available() is None, reason="needs root and cgroups"
)
def test_doctor_reports_the_limits_and_the_cgroup_version(
    env: Path, context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NANOSCALE_TENANT_MEMORY_MB", "300")
    result = run_cli("doctor")
    assert "ok    resource limits: 300 MiB" in result.output, result.output
    assert f"(cgroup v{cgroups.available()})" in result.output


def test_doctor_fails_when_the_sandbox_is_switched_off(
    env: Path, context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NANOSCALE_SANDBOX", "none")
    result = run_cli("doctor")
    assert result.exit_code == 1
    assert "FAIL  sandbox: disabled" in result.output
    assert "apt-get install bubblewrap" in result.output
