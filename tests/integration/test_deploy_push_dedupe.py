"""A push is keyed on (project, ref, commit): a late duplicate of an older push (a redelivery,
or the same push through a second hook) never supersedes a newer queued commit, on SQLite and
PostgreSQL. Manual redeploys and rollbacks keep their explicit semantics."""

from __future__ import annotations

import pytest

from tests.support.deploy import DeployHarness


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def harness(request: pytest.FixtureRequest) -> DeployHarness:
    name = "deploy" if request.param == "sqlite" else "deploy_pg"
    result: DeployHarness = request.getfixturevalue(name)
    return result


def test_late_duplicate_push_of_the_live_commit_does_not_supersede_the_newer_queued_one(
    harness: DeployHarness,
) -> None:
    repo, a = harness.repo("web")
    project = harness.project(repo)
    first = harness.request(project, a, trigger="push")
    harness.run_until_idle()
    b = repo.commit({"version.txt": "vB\n"})
    newer = harness.request(project, b, trigger="push")

    duplicate = harness.request(project, a, trigger="push")
    harness.run_until_idle()

    assert duplicate == first
    assert harness.deployment(newer).state == "live"
    assert harness.serve(project) == f"vB {b}\n"
    assert len(harness.deployments(project)) == 2


def test_redelivered_push_of_a_superseded_commit_returns_it_and_the_newest_still_builds(
    harness: DeployHarness,
) -> None:
    repo, a = harness.repo("web")
    project = harness.project(repo)
    older = harness.request(project, a, trigger="push")
    b = repo.commit({"version.txt": "vB\n"})
    newer = harness.request(project, b, trigger="push")
    assert harness.deployment(older).state == "superseded"

    assert harness.request(project, a, trigger="push") == older
    harness.run_until_idle()

    assert harness.deployment(newer).state == "live"
    assert harness.serve(project) == f"vB {b}\n"


def test_failed_commit_is_retried_by_a_push_only_while_nothing_newer_was_requested(
    harness: DeployHarness,
) -> None:
    repo, _ = harness.repo("web")
    project = harness.project(repo, build_command="sh build.sh")
    a = repo.commit({"build.sh": "exit 3\n"})
    failed = harness.request(project, a, trigger="push")
    harness.run_until_idle()
    assert harness.deployment(failed).state == "failed"

    retry = harness.request(project, a, trigger="push")  # redelivery: nothing newer yet
    assert retry != failed and harness.deployment(retry).state == "queued"
    harness.run_until_idle()
    b = repo.commit({"build.sh": "echo ok\n", "version.txt": "vB\n"})
    newer = harness.request(project, b, trigger="push")
    late = harness.request(project, a, trigger="push")
    harness.run_until_idle()

    assert late == retry and harness.deployment(late).state == "failed"
    assert harness.deployment(newer).state == "live"
    assert harness.serve(project) == f"vB {b}\n"


def test_manual_redeploy_of_an_older_commit_still_supersedes_the_queued_one(
    harness: DeployHarness,
) -> None:
    repo, a = harness.repo("web")
    project = harness.project(repo)
    harness.request(project, a, trigger="push")
    harness.run_until_idle()
    b = repo.commit({"version.txt": "vB\n"})
    queued = harness.request(project, b, trigger="push")

    explicit = harness.request(project, a, trigger="manual")
    harness.run_until_idle()

    assert harness.deployment(queued).state == "superseded"
    assert harness.deployment(explicit).state == "live"
    assert harness.serve(project) == f"v1 {a}\n"
