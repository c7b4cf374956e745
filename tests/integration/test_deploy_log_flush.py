"""The deployment log while a build runs: buffered output reaches the log store even when the
build goes quiet. The build waits on a flag file, so nothing depends on timing."""

from __future__ import annotations

import threading

from tests.support.deploy import DeployHarness, traversable_dir
from tests.support.deploy_api import wait_for


def test_a_line_printed_before_a_silent_build_step_is_readable_while_the_build_runs(
    deploy: DeployHarness,
) -> None:
    repo, sha = deploy.repo("quiet")
    with traversable_dir("nanoscale-flag-") as flags:  # the build's project user checks it
        flag = flags / "go"
        # Two lines in quick succession: the second lands in the writer's buffer, and the
        # build then prints nothing more until the test lets it finish.
        project = deploy.project(
            repo,
            build_command=(
                f"echo first-line; echo line-before-silence; "
                f"while [ ! -e {flag} ]; do sleep 0.1; done; printf 'build-%s\\n' done"
            ),
        )
        deployment_id = deploy.request(project, sha)
        worker = threading.Thread(target=deploy.run_until_idle)
        worker.start()
        try:
            wait_for(lambda: "line-before-silence" in deploy.log(deployment_id))
            assert deploy.deployment(deployment_id).state == "building"
            assert "build-done" not in deploy.log(deployment_id)
        finally:
            flag.touch()
            worker.join()
    assert deploy.deployment(deployment_id).state == "live"
    assert "build-done" in deploy.log(deployment_id)
