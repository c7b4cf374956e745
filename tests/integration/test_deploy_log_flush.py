"""The deployment log while a build runs: buffered output reaches the log store even when the
build goes quiet. The build waits on a flag file, so nothing depends on timing."""

from __future__ import annotations

import threading
import time

import pytest

from nanoscale.db.engine import session_scope
from nanoscale.deployments.logs.build_log import follow_log
from nanoscale.deployments.logs.pacing import IDLE
from nanoscale.projects.models import Project
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


def _follow(deploy: DeployHarness, deployment_id: str) -> tuple[str, str]:
    """What a log follower (the dashboard's and the API's stream) receives, and the end state."""
    received: list[str] = []
    for item in follow_log(deploy.ctx.sessions, deployment_id):
        if item is IDLE:
            time.sleep(0.01)
            continue
        chunk_id, text = item  # type: ignore[misc]
        if chunk_id is None:
            return "".join(received), text
        received.append(text)
    raise AssertionError("the follower ended without a final state")


@pytest.mark.parametrize("outcome", ["live", "failed"])
def test_a_follower_receives_the_whole_log_before_the_end(
    deploy: DeployHarness, outcome: str
) -> None:
    """The last lines ("is live", "deployment failed: …") are stored before the state is final,
    so a follower that stops at the final state has them. A redeploy, so the old release's
    drain keeps the worker busy after the switch."""
    repo, sha = deploy.repo("followed")
    project = deploy.project(repo)
    deploy.request(project, sha)
    deploy.run_until_idle()
    command = "exit 3" if outcome == "failed" else "true"
    with session_scope(deploy.ctx.sessions) as session:
        session.get_one(Project, project.id).build_command = command
    deployment_id = deploy.request(project, sha, trigger="manual")
    followed: list[tuple[str, str]] = []
    follower = threading.Thread(target=lambda: followed.append(_follow(deploy, deployment_id)))
    follower.start()
    deploy.run_until_idle()
    follower.join(timeout=60)
    ((text, state),) = followed
    assert state == outcome
    assert text == deploy.log(deployment_id)
    last = "is live" if outcome == "live" else "deployment failed: "
    assert last in text.rstrip().splitlines()[-1], text[-500:]
