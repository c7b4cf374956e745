"""`nanoscale doctor` and `serve` find host problems before a first deployment does: a data
directory the per-project users cannot reach (the classic: cloned into root's 0700 home)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nanoscale.cli.host_checks import startup_notes
from nanoscale.crypto import generate_key
from nanoscale.settings import load_settings
from tests.support.cli import run_cli
from tests.support.deploy import traversable_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="project users exist only as root")

NOBODY = 65534


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Path]:
    """A home-like directory (mode 0700) with NanoScale's data directory inside it."""
    for name in ("NANOSCALE_RUNTIME", "NANOSCALE_ENV", "NANOSCALE_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NANOSCALE_PROXY", "none")
    with traversable_dir("nanoscale-home-") as root:
        home = root / "operator"
        (home / "nanoscale" / "var").mkdir(parents=True, mode=0o755)
        home.chmod(0o700)
        monkeypatch.setenv("NANOSCALE_DATA_DIR", str(home / "nanoscale" / "var"))
        monkeypatch.setenv("NANOSCALE_DATABASE_URL", database_url)
        monkeypatch.setenv("NANOSCALE_SECRET_KEY", generate_key())
        yield home


def can_enter_as_nobody(path: Path) -> bool:
    probe = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    return subprocess.run([*probe, "test", "-x", str(path)], check=False).returncode == 0


def test_doctor_reports_a_data_dir_project_users_cannot_reach(home: Path) -> None:
    data_dir = home / "nanoscale" / "var"
    assert not can_enter_as_nobody(data_dir)  # what a first deployment would run into

    result = run_cli("doctor")

    assert result.exit_code == 1
    assert f"FAIL  data directory access: {home} (mode 700) cannot be entered" in result.output
    assert f"fix: chmod o+x {home}" in result.output

    home.chmod(0o711)  # the suggested fix
    assert can_enter_as_nobody(data_dir)
    fixed = run_cli("doctor")
    assert (
        f"ok    data directory access: project users (ns-<project>-<id>) can reach {data_dir}"
        in (fixed.output)
    )


def test_startup_says_root_creates_project_users_and_warns_about_the_data_dir(
    home: Path,
) -> None:
    notes = startup_notes(load_settings())
    assert "one system user per project" in notes[0]
    assert any(f"fix: chmod o+x {home}" in note for note in notes[1:])
    home.chmod(0o711)
    assert len(startup_notes(load_settings())) == 1


def test_doctor_checks_the_sandbox_and_port_ranges(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home.chmod(0o711)
    monkeypatch.setenv("NANOSCALE_RELEASE_PORT_START", "40000")
    monkeypatch.setenv("NANOSCALE_RELEASE_PORT_END", "40100")
    result = run_cli("doctor")
    assert "FAIL  ports: NANOSCALE_RELEASE_PORT_START/END (40000-40100) overlaps" in result.output
    assert "sandbox:" in result.output
