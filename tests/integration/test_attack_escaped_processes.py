"""Attack: outliving the build. A build step that leaves its process group *and* strips the
build marker from its environment used to survive the build (and could later rewrite a
static site's output). Builds now run in their own cgroup and PID namespace, so whatever a
step starts dies with it; releases are ended through their cgroup the same way."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from nanoscale.deployments.releases import project_paths
from nanoscale.engine.runtime import cgroups, procfs
from nanoscale.engine.runtime.cgroups import ResourceLimits
from nanoscale.engine.runtime.process import ProcessRuntime
from nanoscale.engine.runtime.sandbox import make_sandbox
from nanoscale.engine.runtime.users import project_user_name
from tests.support.caddy_releases import app_spec
from tests.support.deploy import STATIC_APP, DeployHarness
from tests.support.http_wait import wait_for_http

LIMITS = ResourceLimits(memory_bytes=512 * 2**20, max_processes=256, cpu_percent=100)


class Sleeper:
    """A `sleep <unique seconds>` the attack starts, found by its command line."""

    def __init__(self) -> None:
        self.seconds = str(800_000 + secrets.randbelow(99_999))

    def escape(self, marker: str) -> str:
        """Shell that starts the sleeper outside the group, without the marker, and waits
        until it runs (it writes a file first)."""
        return (
            f"env -u {marker} setsid sh -c 'touch .escaped; exec sleep {self.seconds}' "
            ">/dev/null 2>&1 </dev/null & "
            "while [ ! -e .escaped ]; do sleep 0.05; done"
        )

    def pids(self) -> list[int]:
        return [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit()
            and procfs.cmdline(int(p.name)) == ["sleep", self.seconds]
            and procfs.is_alive(int(p.name))
        ]


@pytest.fixture
def sleeper() -> Iterator[Sleeper]:
    started = Sleeper()
    yield started
    for pid in started.pids():
        os.kill(pid, 9)


def test_a_build_process_that_strips_its_marker_and_daemonizes_is_dead_after_the_build(
    deploy: DeployHarness, sleeper: Sleeper
) -> None:
    repo, sha = deploy.repo("site", app="static")
    build = f"{sleeper.escape('NANOSCALE_BUILD')}; sh build.sh"
    project = deploy.project(repo, **{**STATIC_APP, "build_command": build})

    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()

    assert deploy.deployment(deployment_id).state == "live"
    assert "env -u NANOSCALE_BUILD" in deploy.log(deployment_id)
    assert sleeper.pids() == []


@pytest.mark.parametrize("confinement", ["cgroup", "sandbox"])
def test_a_release_child_that_strips_its_marker_dies_with_the_release(
    tmp_path: Path, sleeper: Sleeper, confinement: str
) -> None:
    """Either layer alone ends it: the release's cgroup lists it, and the sandbox's PID
    namespace ends with the release's first process."""
    if confinement == "cgroup" and cgroups.available() is None:
        pytest.skip("no usable cgroups here")
    sandbox = make_sandbox("bwrap", hidden=()) if confinement == "sandbox" else None
    limits = LIMITS if confinement == "cgroup" else None
    spec = app_spec(tmp_path)
    command = f"{sleeper.escape('NANOSCALE_RELEASE')}; {spec.start_command}"
    spec = replace(spec, start_command=command)
    runtime = ProcessRuntime(tmp_path / "state", limits=limits, sandbox=sandbox)
    try:
        handle = runtime.start(spec)
        assert wait_for_http(spec.port, timeout=20)
        deadline = time.monotonic() + 10
        while not sleeper.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        [escaped] = sleeper.pids()
        assert procfs.environ_value(escaped, "NANOSCALE_RELEASE") is None
        runtime.stop(handle, grace_seconds=2)
    finally:
        runtime.stop_all(grace_seconds=2)
        runtime.close()
    assert sleeper.pids() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="per-project users need root")
def test_a_published_static_site_cannot_be_changed_by_its_projects_user(
    deploy: DeployHarness,
) -> None:
    """Even a process of the project's uid that did survive could not swap the checked
    output for a link: the built tree is root's once it is checked."""
    repo, sha = deploy.repo("site", app="static")
    project = deploy.project(repo, **STATIC_APP)
    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()
    assert deploy.deployment(deployment_id).state == "live"

    output = project_paths(deploy.ctx.settings, project.id).release(deployment_id) / "dist"
    user = project_user_name(project.name, project.id)
    attempt = subprocess.run(
        ["runuser", "-u", user, "--", "sh", "-c",
         f"ln -sf /etc/shadow {output}/index.html || echo x > {output}/index.html"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert attempt.returncode != 0
    assert not (output / "index.html").is_symlink()
    assert output.stat().st_uid == 0
