"""SystemdRuntime's files and systemctl calls, with a recording stand-in for systemctl (this
machine's PID 1 is not systemd): units installed and removed, env files root-only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nanoscale.engine.runtime.systemd import SystemdRuntime
from tests.support.caddy_releases import app_spec, static_spec


@pytest.fixture
def systemctl(tmp_path: Path) -> Path:
    """A script that records its arguments; `is-active` answers "inactive"."""
    script = tmp_path / "systemctl"
    calls = tmp_path / "calls.txt"
    script.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n[ "$1" = is-active ] && exit 3\nexit 0\n')
    script.chmod(0o755)
    return script


def calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "calls.txt").read_text().splitlines()


def test_start_installs_a_unit_and_a_root_only_env_file(tmp_path: Path, systemctl: Path) -> None:
    units = tmp_path / "units"
    units.mkdir()
    runtime = SystemdRuntime(tmp_path / "state", unit_dir=units, systemctl=str(systemctl))
    spec = app_spec(tmp_path, env={"API_TOKEN": "tok-123"})
    handle = runtime.start(spec)
    assert handle.ref.startswith("nanoscale-") and (units / handle.ref).exists()
    env_file = tmp_path / "state" / "env" / f"{handle.ref}.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert 'API_TOKEN="tok-123"' in env_file.read_text()
    assert "tok-123" not in (units / handle.ref).read_text()
    assert "tok-123" not in "\n".join(calls(tmp_path))
    assert calls(tmp_path) == ["daemon-reload", f"start --no-block {handle.ref}"]
    assert not runtime.is_running(handle)

    runtime.stop(handle)
    assert not (units / handle.ref).exists() and not env_file.exists()
    assert f"stop {handle.ref}" in calls(tmp_path)


def test_adopt_removes_unwanted_units_and_starts_missing_ones(
    tmp_path: Path, systemctl: Path
) -> None:
    units = tmp_path / "units"
    units.mkdir()
    runtime = SystemdRuntime(tmp_path / "state", unit_dir=units, systemctl=str(systemctl))
    old = runtime.start(app_spec(tmp_path, name="old"))
    wanted, site = app_spec(tmp_path, name="new"), static_spec(tmp_path)
    handles = runtime.adopt([old], [wanted, site])
    assert not (units / old.ref).exists()
    assert [h.ref for h in handles][1] == "static"
    assert (units / handles[0].ref).exists()
