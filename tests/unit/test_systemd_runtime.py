"""SystemdRuntime's files and systemctl calls, with a recording stand-in for systemctl (this
machine's PID 1 is not systemd): units installed and removed, env files root-only."""

from __future__ import annotations

import shutil
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from nanoscale.engine.runtime.base import ReleaseHandle
from nanoscale.engine.runtime.systemd import SystemdRuntime
from nanoscale.engine.runtime.systemd_unit import unit_name
from nanoscale.errors import PlatformError
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
    assert handle.ref.startswith("nanoscale-release-") and (units / handle.ref).exists()
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


@pytest.fixture
def stateful_systemctl(tmp_path: Path) -> Path:
    """Like `systemctl`, but `is-active <unit>` prints the state written to states/<unit>
    (default "inactive"), exiting 0 only for "active", as systemctl does."""
    script = tmp_path / "systemctl"
    calls = tmp_path / "calls.txt"
    states = tmp_path / "states"
    states.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        'if [ "$1" = is-active ]; then\n'
        f'  state=$(cat {states}/"$2" 2>/dev/null || echo inactive); echo "$state"\n'
        '  [ "$state" = active ] && exit 0; exit 3\n'
        "fi\n"
        "exit 0\n"
    )
    script.chmod(0o755)
    return script


def _set_state(tmp_path: Path, unit: str, state: str) -> None:
    (tmp_path / "states" / unit).write_text(state + "\n")


def test_a_unit_still_activating_after_a_no_block_start_counts_as_running(
    tmp_path: Path, stateful_systemctl: Path
) -> None:
    units = tmp_path / "units"
    units.mkdir()
    runtime = SystemdRuntime(tmp_path / "state", unit_dir=units, systemctl=str(stateful_systemctl))
    spec = app_spec(tmp_path)
    handle = runtime.start(spec)
    _set_state(tmp_path, handle.ref, "activating")

    assert runtime.is_running(handle)
    assert runtime.adopt([handle], [spec]) == [handle]
    assert calls(tmp_path).count(f"start --no-block {handle.ref}") == 1  # not started twice
    _set_state(tmp_path, handle.ref, "failed")
    assert not runtime.is_running(handle)


def test_adopt_never_touches_an_operators_own_nanoscale_units(
    tmp_path: Path, stateful_systemctl: Path
) -> None:
    units = tmp_path / "units"
    units.mkdir()
    own = ["nanoscale.service", "nanoscale-backup.service", "nanoscale-web-d1.service"]
    for name in own:
        (units / name).write_text("[Service]\nExecStart=/bin/true\n")
        _set_state(tmp_path, name, "active")
    runtime = SystemdRuntime(tmp_path / "state", unit_dir=units, systemctl=str(stateful_systemctl))
    stale = runtime.start(app_spec(tmp_path, name="stale"))

    runtime.adopt([], [])

    assert all((units / name).exists() for name in own)
    assert not (units / stale.ref).exists()
    assert not any(c.startswith("stop") and "release" not in c for c in calls(tmp_path))


def test_adopt_keeps_a_live_unit_named_before_the_release_prefix(
    tmp_path: Path, stateful_systemctl: Path
) -> None:
    units = tmp_path / "units"
    units.mkdir()
    runtime = SystemdRuntime(tmp_path / "state", unit_dir=units, systemctl=str(stateful_systemctl))
    spec = app_spec(tmp_path)
    legacy = unit_name(spec).replace("nanoscale-release-", "nanoscale-")
    (units / legacy).write_text("[Service]\nExecStart=/bin/true\n")
    _set_state(tmp_path, legacy, "active")
    recorded = ReleaseHandle(spec.deployment_id, spec.project_id, spec.port, legacy)

    assert runtime.adopt([recorded], [spec]) == [recorded]
    assert not any(c.startswith("start") for c in calls(tmp_path))
    runtime.stop(recorded)
    assert not (units / legacy).exists()


def test_a_workdir_swapped_for_a_link_is_refused_and_no_unit_is_written(
    tmp_path: Path, systemctl: Path
) -> None:
    units = tmp_path / "units"
    units.mkdir()
    runtime = SystemdRuntime(tmp_path / "state", unit_dir=units, systemctl=str(systemctl))
    tree = tmp_path / "release"
    tree.mkdir()
    spec = replace(app_spec(tree), tree=tree)
    victim = tmp_path / "victim"
    victim.mkdir()
    shutil.rmtree(spec.workdir)
    spec.workdir.symlink_to(victim)  # what the app did to its own tree before a restart

    with pytest.raises(PlatformError) as refused:
        runtime.start(spec)
    assert refused.value.code == "release_dir_unsafe"
    assert list(units.iterdir()) == []


def test_loader_variables_never_reach_the_env_file(tmp_path: Path, systemctl: Path) -> None:
    units = tmp_path / "units"
    units.mkdir()
    runtime = SystemdRuntime(tmp_path / "state", unit_dir=units, systemctl=str(systemctl))
    handle = runtime.start(app_spec(tmp_path, env={"LD_PRELOAD": "/x.so", "KEEP": "1"}))
    env_file = (tmp_path / "state" / "env" / f"{handle.ref}.env").read_text()
    assert "LD_PRELOAD" not in env_file and 'KEEP="1"' in env_file
