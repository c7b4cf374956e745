"""Packaging and `make` targets: running installs only the runtime dependencies; the license
metadata uses the SPDX form (no setuptools deprecation warning on install)."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from nanoscale import __version__
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def make_dry_run(target: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_make_run_installs_without_the_dev_extras() -> None:
    run = make_dry_run("run")
    assert "pip install" in run
    assert "[dev]" not in run
    assert "[dev]" in make_dry_run("unit")


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert isinstance(data["project"]["license"], str)
    assert "setuptools>=77" in data["build-system"]["requires"]


def test_version_option_prints_the_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"nanoscale {__version__}"
