"""The worker runs deployments of different projects at the same time (one thread and one
lease holder per slot), while one project still runs one deployment at a time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from nanoscale.deployments.worker.loop import Worker
from tests.support.deploy import DeployHarness


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _waits_for(flag: Path) -> str:
    return f"while [ ! -e {flag} ]; do sleep 0.05; done"


def test_two_projects_build_at_the_same_time(deploy: DeployHarness, deploy_data_dir: Path) -> None:
    flags = [deploy_data_dir.parent / "go-a", deploy_data_dir.parent / "go-b"]
    repo_a, sha_a = deploy.repo("alpha")
    repo_b, sha_b = deploy.repo("beta")
    alpha = deploy.project(repo_a, build_command=_waits_for(flags[0]))
    beta = deploy.project(repo_b, build_command=_waits_for(flags[1]))
    deploy.worker.start()
    try:
        ids = [deploy.request(alpha, sha_a), deploy.request(beta, sha_b)]

        _wait_for(lambda: [deploy.deployment(i).state for i in ids] == ["building"] * 2)
        for flag in flags:
            flag.touch()
        _wait_for(lambda: [deploy.deployment(i).state for i in ids] == ["live"] * 2)
    finally:
        for flag in flags:
            flag.touch()
        deploy.worker.stop()

    assert deploy.serve(alpha) == f"v1 {sha_a}\n"
    assert deploy.serve(beta) == f"v1 {sha_b}\n"


def test_one_project_still_runs_one_deployment_at_a_time(
    deploy: DeployHarness, deploy_data_dir: Path
) -> None:
    flag = deploy_data_dir.parent / "go"
    repo, first_sha = deploy.repo("web")
    project = deploy.project(repo, build_command=_waits_for(flag))
    deploy.worker.start()
    try:
        first = deploy.request(project, first_sha)
        _wait_for(lambda: deploy.deployment(first).state == "building")
        second = deploy.request(project, repo.commit({"version.txt": "v2\n"}))
        # Both threads are idle-polling now; the second must wait for the project's lease.
        for _ in range(20):
            assert deploy.deployment(second).state == "queued"
            time.sleep(0.05)
        flag.touch()
        _wait_for(lambda: deploy.deployment(second).state == "live")
    finally:
        flag.touch()
        deploy.worker.stop()

    assert deploy.deployment(first).state == "live"


def test_worker_concurrency_setting_gives_each_thread_its_own_lease_holder(
    deploy: DeployHarness,
) -> None:
    settings = deploy.ctx.settings.model_copy(update={"worker_concurrency": 3})
    worker = Worker(replace(deploy.ctx, settings=settings), backends=deploy.worker.backends)

    holders = [runner.holder for runner in worker.runners]
    assert len(holders) == 3 and len(set(holders)) == 3
    assert deploy.ctx.settings.worker_concurrency == 2  # the default
