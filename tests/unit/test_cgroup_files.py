"""What NanoScale writes into a cgroup hierarchy for a unit's limits, checked on a directory
laid out like one (this host's kernel offers v1; production hosts usually have v2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nanoscale.engine.runtime import cgroups
from nanoscale.engine.runtime.cgroups import ResourceLimits

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="cgroups are used only as root")
LIMITS = ResourceLimits(memory_bytes=128 * 2**20, max_processes=50, cpu_percent=150)


def test_v2_unit_gets_memory_swap_pids_and_cpu_limits(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    group = cgroups.create("b-d1", LIMITS, root=tmp_path)
    assert group is not None and group.version == 2
    unit = tmp_path / "nanoscale" / "b-d1"
    assert group.dirs == (unit,)
    assert (unit / "memory.max").read_text() == str(128 * 2**20)
    assert (unit / "memory.swap.max").read_text() == "0"
    assert (unit / "pids.max").read_text() == "50"
    assert (unit / "cpu.max").read_text() == "150000 100000"
    assert (tmp_path / "nanoscale" / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    assert group.procs_files == (os.fsencode(unit / "cgroup.procs"),)


def test_v2_without_the_pids_controller_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    assert cgroups.available(tmp_path) is None
    assert cgroups.create("b-d1", LIMITS, root=tmp_path) is None


def test_v2_limit_events_are_read_from_the_units_counters(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    group = cgroups.create("b-d2", LIMITS, root=tmp_path)
    assert group is not None
    unit = tmp_path / "nanoscale" / "b-d2"
    (unit / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    (unit / "pids.events").write_text("max 0\n")
    assert not group.memory_limit_hit() and not group.process_limit_hit()
    (unit / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n")
    (unit / "pids.events").write_text("max 4\n")
    assert group.memory_limit_hit() and group.process_limit_hit()


def test_unit_names_cannot_leave_the_nanoscale_group(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    with pytest.raises(ValueError, match="unsafe cgroup name"):
        cgroups.create("../escape", LIMITS, root=tmp_path)
