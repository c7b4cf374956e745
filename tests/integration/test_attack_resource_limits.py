"""Attack: starving the host. A build that allocates past the project's memory limit, or a
fork bomb, is stopped by the kernel in the build's own cgroup, the deployment fails with a
stable code saying which limit, and nothing of it is left running. An app over the limit is
stopped the same way and its log says so."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from nanoscale.engine.runtime import cgroups, kill
from nanoscale.engine.runtime.cgroups import ResourceLimits
from nanoscale.engine.runtime.process import ProcessRuntime
from tests.support.caddy_releases import app_spec
from tests.support.deploy import DeployHarness

pytestmark = pytest.mark.skipif(cgroups.available() is None, reason="needs usable cgroups")
SMALL = ResourceLimits(memory_bytes=64 * 2**20, max_processes=48, cpu_percent=100)
FORK_BOMB = "b() { b | b & }; b; sleep 3; exit 1"


def _small_limits(deploy: DeployHarness) -> None:
    pipeline = deploy.worker.pipeline
    pipeline.policy = replace(pipeline.policy, limits=SMALL)


def test_a_build_allocating_past_the_memory_limit_fails_with_build_memory_limit(
    deploy: DeployHarness,
) -> None:
    _small_limits(deploy)
    repo, sha = deploy.repo("hog")
    hog = "python3 -c 'blocks = [bytearray(2**20) for _ in range(512)]'"
    project = deploy.project(repo, build_command=hog)

    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()

    failed = deploy.deployment(deployment_id)
    assert (failed.state, failed.error_code) == ("failed", "build_memory_limit")
    assert failed.error_responsibility == "user"
    assert "64 MiB" in (failed.error_message or "")
    assert cgroups.open_existing(kill.build_cgroup_name(deployment_id)) is None  # cleaned up


def test_a_fork_bomb_is_bounded_by_the_process_limit_and_leaves_nothing(
    deploy: DeployHarness,
) -> None:
    _small_limits(deploy)
    repo, sha = deploy.repo("bomb")
    project = deploy.project(repo, build_command=FORK_BOMB)

    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()

    failed = deploy.deployment(deployment_id)
    assert (failed.state, failed.error_code) == ("failed", "build_process_limit")
    assert "48 processes" in (failed.error_message or "")
    assert kill.members(None, kill.build_marker(deployment_id)) == set()
    assert cgroups.open_existing(kill.build_cgroup_name(deployment_id)) is None


def test_a_build_within_the_limits_is_unaffected(deploy: DeployHarness) -> None:
    _small_limits(deploy)
    repo, sha = deploy.repo("fine")
    project = deploy.project(repo, build_command="python3 -c 'x = bytearray(8 * 2**20)'")
    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()
    assert deploy.deployment(deployment_id).state == "live"


def test_an_app_over_the_memory_limit_is_stopped_and_its_log_says_why(tmp_path: Path) -> None:
    spec = app_spec(tmp_path)
    hog = "python3 -c 'blocks = [bytearray(2**20) for _ in range(512)]'"
    spec = replace(spec, start_command=f"{hog} && {spec.start_command}")
    runtime = ProcessRuntime(tmp_path / "state", limits=SMALL, backoff_initial=5)
    try:
        runtime.start(spec)
        deadline = time.monotonic() + 30
        while "restarting in" not in _text(spec.log_path) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runtime.stop_all(grace_seconds=2)
        runtime.close()
    assert "MemoryError" not in _text(spec.log_path)  # killed by the kernel, not refused
    assert "stopped at the project memory limit of 64 MiB" in _text(spec.log_path)


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""
