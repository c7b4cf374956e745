"""Attack: hijacking a release's health check. Another tenant binds the port NanoScale
picked for a new release (between the pick and the app's start) and answers the health
check itself; traffic used to be switched to it. Now every listening socket on the release
port must belong to the release, or the deployment fails and traffic stays where it was."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nanoscale.deployments.releases import project_paths
from nanoscale.settings import Settings
from tests.support.deploy import DeployHarness, deploy_harness, deploy_settings_overrides
from tests.support.git_server import GitServer
from tests.support.http_wait import wait_for_http
from tests.support.ports import free_port

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the squatter is another user")
SQUATTER = "import http.server as h, sys; h.HTTPServer(('127.0.0.1', int(sys.argv[1])), h.SimpleHTTPRequestHandler).serve_forever()"  # noqa: E501


@pytest.fixture
def one_port_deploy(
    make_settings: Callable[..., Settings], git_server: GitServer, deploy_data_dir: Path
) -> Iterator[tuple[DeployHarness, int]]:
    """Releases get exactly one port, so the test knows which one to squat."""
    port = free_port()
    settings = make_settings(
        **deploy_settings_overrides(deploy_data_dir, git_server),
        release_port_start=port,
        release_port_end=port,
    )
    with deploy_harness(settings, git_server) as harness:
        yield harness, port


def _wait_for(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_a_port_squatted_during_the_build_is_detected_and_traffic_is_not_switched(
    one_port_deploy: tuple[DeployHarness, int],
) -> None:
    deploy, port = one_port_deploy
    repo, sha = deploy.repo("victim")
    # The build waits for the test's go-ahead; the app itself never listens, so only the
    # squatter can answer the health check.
    project = deploy.project(
        repo,
        build_command="while [ ! -e go ]; do sleep 0.05; done",
        start_command="exec sleep 600",
    )
    deployment_id = deploy.request(project, sha)
    release = project_paths(deploy.ctx.settings, project.id).release(deployment_id)
    runner = threading.Thread(target=deploy.run_until_idle)
    runner.start()
    squatter = None
    try:
        _wait_for(lambda: deploy.deployment(deployment_id).state == "building")
        squatter = subprocess.Popen(
            ["runuser", "-u", "nobody", "--", "python3", "-c", SQUATTER, str(port)],
            cwd="/",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for_http(port, timeout=15)
        (release / "go").touch()
        runner.join(60)
    finally:
        if release.exists():  # never leave the build waiting
            (release / "go").touch()
        runner.join(60)
        if squatter is not None:
            squatter.kill()
            squatter.wait()

    failed = deploy.deployment(deployment_id)
    assert (failed.state, failed.error_code) == ("failed", "release_port_hijacked")
    assert failed.error_responsibility == "platform"
    assert deploy.live(project) is None
