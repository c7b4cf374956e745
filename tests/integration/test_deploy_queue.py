"""Queue semantics of `request_deployment` and the worker: coalescing, idempotency, one
deployment per project at a time, under real concurrency on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from nanoscale.db.engine import session_scope
from nanoscale.deployments.queue import lease
from tests.support.deploy import DeployHarness


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def harness(request: pytest.FixtureRequest) -> DeployHarness:
    name = "deploy" if request.param == "sqlite" else "deploy_pg"
    result: DeployHarness = request.getfixturevalue(name)
    return result


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_burst_of_ten_commits_builds_at_most_two_and_the_last_goes_live(
    harness: DeployHarness,
) -> None:
    repo, _ = harness.repo("web")
    project = harness.project(repo, build_command="sleep 1")
    shas = [repo.commit({"version.txt": f"v{i}\n"}) for i in range(10)]
    harness.worker.start()
    try:
        ids = [harness.request(project, shas[0])]
        _wait_for(lambda: harness.deployment(ids[0]).state != "queued")
        ids += [harness.request(project, sha) for sha in shas[1:]]
        _wait_for(lambda: harness.status(project) != "building")
    finally:
        harness.worker.stop()

    states = [harness.deployment(i) for i in ids]
    built = [d for d in states if d.fetching_at is not None]
    assert len(built) <= 2
    assert states[-1].state == "live"
    assert all(d.state == "superseded" for d in states[1:-1])
    assert harness.serve(project) == f"v9 {shas[-1]}\n"


def test_twenty_concurrent_requests_for_one_commit_make_one_deployment(
    harness: DeployHarness,
) -> None:
    repo, sha = harness.repo("web")
    project = harness.project(repo)
    barrier = threading.Barrier(20)

    def one(_: int) -> str:
        barrier.wait()
        return harness.request(project, sha, trigger="push")

    with ThreadPoolExecutor(20) as pool:
        ids = set(pool.map(one, range(20)))

    assert len(ids) == 1
    assert len(harness.deployments(project)) == 1


def test_concurrent_distinct_commits_leave_only_the_newest_to_build(
    harness: DeployHarness,
) -> None:
    repo, _ = harness.repo("web")
    project = harness.project(repo)
    shas = [repo.commit({"version.txt": f"v{i}\n"}) for i in range(10)]
    barrier = threading.Barrier(10)

    def one(sha: str) -> str:
        barrier.wait()
        return harness.request(project, sha, trigger="push")

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(one, shas))
    assert harness.run_until_idle() == 1

    rows = harness.deployments(project)
    assert [d.state for d in rows].count("live") == 1
    assert [d.state for d in rows].count("superseded") == 9
    assert rows[-1].state == "live"  # the newest request wins


def test_only_one_of_twenty_concurrent_lease_takers_wins(harness: DeployHarness) -> None:
    repo, _ = harness.repo("web")
    project = harness.project(repo)
    barrier = threading.Barrier(20)

    def take(i: int) -> bool:
        barrier.wait()
        with session_scope(harness.ctx.sessions) as session:
            return lease.acquire(session, project_id=project.id, holder=f"h{i}", seconds=30)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(take, range(20)))

    assert results.count(True) == 1


def test_request_for_a_running_commit_returns_it_but_redeploy_of_live_commit_builds(
    deploy: DeployHarness,
) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo)
    first = deploy.request(project, sha)
    assert deploy.request(project, sha, trigger="push") == first
    deploy.run_until_idle()

    again = deploy.request(project, sha)
    assert again != first
    deploy.run_until_idle()
    assert deploy.deployment(again).state == "live"
    assert deploy.deployment(first).release_stopped_at is not None


def test_redeploy_without_sha_resolves_the_private_branch_head(deploy: DeployHarness) -> None:
    repo, _ = deploy.repo("private", private=True, username="deployer", password="hunter2-secret")
    project = deploy.project(repo)
    head = repo.commit({"version.txt": "v7\n"})

    deployment_id = deploy.request(project, None)
    deploy.run_until_idle()
    assert deploy.deployment(deployment_id).commit_sha == head
    assert deploy.serve(project) == f"v7 {head}\n"
