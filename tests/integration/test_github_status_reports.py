"""Deployment status back on GitHub (issue 12 item 7) against the simulator, SQLite and
PostgreSQL: a GitHub Deployment per deployed commit with its statuses when the App holds
`deployments: write`, a commit status with only `statuses: write`, nothing with neither (and
the status endpoint says why). GitHub failing while reporting never holds a deployment back;
the report is retried later. The reporter runs deterministically (`run_once()`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.deployments.backends import backends_for
from nanoscale.github import models as m
from nanoscale.github.status_reports.models import GitHubStatusReport
from nanoscale.github.status_reports.reporter import StatusReporter
from nanoscale.github.status_reports.scan import due, enrol
from nanoscale.settings import Settings
from tests.fakes.github import gitstore
from tests.fakes.github.records import Deployment as GitHubDeployment
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.support.api import fast_password_hashing
from tests.support.github_app import PUBLIC, GitHubHarness, Person, github_harness

__all__ = ["fast_password_hashing"]
pytestmark = [
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.github_harness(delivers=True, deploys=True),
]
BOTH = {"deployments": "write", "statuses": "write"}


def _linked(gh: GitHubHarness, permissions: dict[str, str], **project: Any) -> tuple[Person, str]:
    """Alice installs the App (holding `permissions` on top of the defaults) and creates the
    project `shop` from her private repository; returns her and the project id."""
    gh.world.app.permissions.update(permissions)
    alice = gh.person("alice")
    gh.connect(alice, "octo-alice")
    installation_id, _ = gh.install(alice, "octo-alice", gh.world.alice)
    body = {"name": "shop", "start_command": "python3 app.py", **project,
            "github_source": {"installation_id": installation_id,
                              "repo_id": gh.world.app_repo.id}}  # fmt: skip
    created = alice.client.post("/api/projects", json=body, headers=alice.headers)
    assert created.status_code == 201, created.text
    assert gh.sim.deliverer.wait_idle(60)
    return alice, str(created.json()["id"])


def _head(gh: GitHubHarness) -> str:
    sha = gitstore.resolve(gh.world.app_repo.path, "refs/heads/main")
    assert sha is not None
    return sha


def _push(gh: GitHubHarness, version: str) -> str:
    sha = gh.sim.commit(gh.world.app_repo, "main", {"version.txt": f"{version}\n"},
                        message=version)  # fmt: skip
    assert gh.sim.deliverer.wait_idle(60)
    return sha


def _github_deployments(gh: GitHubHarness) -> list[GitHubDeployment]:
    return sorted(
        (d for d in gh.sim.state.deployments if d.repo_id == gh.world.app_repo.id),
        key=lambda d: d.id,
    )


def _deployments_of(alice: Person, project_id: str) -> list[dict[str, Any]]:
    answer = alice.client.get(f"/api/projects/{project_id}/deployments")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = body["deployments"] if isinstance(body, dict) else body
    return sorted(rows, key=lambda d: d["queued_at"])


def _states(deployment: GitHubDeployment) -> list[str]:
    return [s.state for s in deployment.statuses]


def test_a_deployed_push_becomes_a_github_deployment_with_its_statuses(
    gh: GitHubHarness, capfd: pytest.CaptureFixture[str]
) -> None:
    alice, project_id = _linked(gh, BOTH)
    reporter = StatusReporter(gh.ctx)
    reporter.run_once()  # the first deployment is queued: GitHub hears so at once
    (first,) = _github_deployments(gh)
    assert (first.sha, first.environment, _states(first)) == (_head(gh), "shop", ["queued"])
    gh.run_until_idle()
    reporter.run_once()
    assert _states(first) == ["queued", "in_progress", "success"]
    (ours,) = _deployments_of(alice, project_id)
    success = first.statuses[-1]
    assert success.log_url == f"{PUBLIC}/projects/{project_id}/deployments/{ours['id']}"
    project = alice.client.get(f"/api/projects/{project_id}").json()
    assert project["url"] and success.environment_url == project["url"]
    assert first.app is gh.world.app and first.creator is None  # posted as the App's bot
    assert first.production_environment and not first.transient_environment

    # A push deploys the next commit; the release it replaced becomes inactive on GitHub.
    second_sha = _push(gh, "v2")
    gh.run_until_idle()
    reporter.run_once()
    first_again, second = _github_deployments(gh)
    assert first_again is first and second.sha == second_sha
    assert _states(second) == ["queued", "in_progress", "success"]
    assert _states(first) == ["queued", "in_progress", "success", "inactive"]
    assert reporter.run_once() == 0  # nothing new: nothing posted twice
    assert len(first.statuses) == 4 and len(second.statuses) == 3
    assert gh.sim.state.commit_statuses == []  # Deployments mode posts no commit status

    # The token was narrowed to the repository and to deployments: write.
    used = [t for t in gh.sim.state.installation_tokens.values()
            if "deployments" in t.permissions]  # fmt: skip
    assert used and all(t.permissions == {"deployments": "write"} for t in used)
    assert all(t.repo_ids == {gh.world.app_repo.id} for t in used)
    out, err = capfd.readouterr()
    assert "github.status_report.posted" in out + err
    assert not any(token in out + err for token in gh.all_tokens())


def test_a_failed_build_is_reported_as_failure(gh: GitHubHarness) -> None:
    _linked(gh, BOTH, build_command="exit 3")
    gh.run_until_idle()
    StatusReporter(gh.ctx).run_once()
    (deployment,) = _github_deployments(gh)
    assert _states(deployment) == ["queued", "in_progress", "failure"]
    assert deployment.statuses[-1].environment_url == ""  # nothing serves it


def test_with_only_statuses_write_a_commit_status_is_posted(gh: GitHubHarness) -> None:
    alice, project_id = _linked(gh, {"statuses": "write"})
    reporter = StatusReporter(gh.ctx)
    reporter.run_once()
    gh.run_until_idle()
    reporter.run_once()
    statuses = [s for s in gh.sim.state.commit_statuses if s.sha == _head(gh)]
    assert [(s.context, s.state) for s in statuses] == [
        ("nanoscale/shop", "pending"), ("nanoscale/shop", "success")]  # fmt: skip
    (ours,) = _deployments_of(alice, project_id)
    assert statuses[-1].target_url == f"{PUBLIC}/projects/{project_id}/deployments/{ours['id']}"
    assert _github_deployments(gh) == []
    status = alice.client.get("/api/integrations/github/status").json()
    (installation,) = status["installations"]
    assert installation["status_reporting"] == {"mode": "statuses", "reason": None}
    page = alice.client.get("/settings").text
    assert (
        'data-github-status-reporting="statuses">Deploy status on GitHub: commit statuses<' in page
    )


def test_without_either_permission_nothing_is_posted_and_the_status_says_why(
    gh: GitHubHarness,
) -> None:
    alice, _project_id = _linked(gh, {})
    reporter = StatusReporter(gh.ctx)
    reporter.run_once()
    gh.run_until_idle()
    reporter.run_once()
    assert _github_deployments(gh) == [] and gh.sim.state.commit_statuses == []
    status = alice.client.get("/api/integrations/github/status").json()
    (installation,) = status["installations"]
    reporting = installation["status_reporting"]
    assert reporting["mode"] == "none"
    assert "deployments: write" in reporting["reason"]
    with session_scope(gh.ctx.sessions) as db:
        (row,) = db.scalars(select(GitHubStatusReport))
        assert (row.mode, row.done) == ("none", True)
    page = alice.client.get("/settings").text
    assert 'data-github-status-reporting="none">Deploy status on GitHub: off (' in page


def test_github_failing_while_reporting_never_holds_a_deployment_back(
    gh: GitHubHarness,
) -> None:
    alice, project_id = _linked(gh, BOTH)
    gh.sim.faults.add(r"/deployments", status=502)
    reporter = StatusReporter(gh.ctx)
    reporter.run_once()
    gh.run_until_idle()
    reporter.run_once()  # still backing off: nothing is tried again yet
    (ours,) = _deployments_of(alice, project_id)
    assert ours["state"] == "live"  # GitHub down did not matter to the deployment
    assert _github_deployments(gh) == []
    with session_scope(gh.ctx.sessions) as db:
        (row,) = db.scalars(select(GitHubStatusReport))
        assert (row.attempts, row.last_error, row.done) == (1, "github_unavailable", False)

    gh.sim.faults.clear()
    later = StatusReporter(gh.ctx, clock=lambda: utcnow() + timedelta(minutes=5))
    assert later.run_once() == 1  # the retry is due: GitHub hears the whole story
    (deployment,) = _github_deployments(gh)
    assert _states(deployment) == ["queued", "in_progress", "success"]
    with session_scope(gh.ctx.sessions) as db:
        (row,) = db.scalars(select(GitHubStatusReport))
        assert (row.attempts, row.last_error, row.reported_state) == (0, None, "success")


def test_a_status_post_failing_after_the_deployment_was_made_resumes_without_a_duplicate(
    gh: GitHubHarness,
) -> None:
    _linked(gh, BOTH)
    gh.sim.faults.add(r"/deployments/\d+/statuses$", method="POST", status=503)
    reporter = StatusReporter(gh.ctx)
    reporter.run_once()
    (deployment,) = _github_deployments(gh)
    assert deployment.statuses == []
    gh.sim.faults.clear()
    gh.run_until_idle()
    StatusReporter(gh.ctx, clock=lambda: utcnow() + timedelta(minutes=5)).run_once()
    assert _github_deployments(gh) == [deployment]  # the GitHub deployment is reused
    assert _states(deployment) == ["queued", "in_progress", "success"]


def test_accepted_new_permissions_turn_reporting_on_for_the_next_deployment(
    gh: GitHubHarness,
) -> None:
    alice, project_id = _linked(gh, {})
    reporter = StatusReporter(gh.ctx)
    gh.run_until_idle()
    reporter.run_once()
    assert _github_deployments(gh) == []
    gh.sim.request_permissions(gh.world.app, {**gh.world.app.permissions, **BOTH})
    (installation,) = [i for i in gh.sim.state.installations.values() if i.app is gh.world.app]
    gh.sim.accept_permissions(installation)  # GitHub tells NanoScale: new_permissions_accepted
    assert gh.sim.deliverer.wait_idle(60)
    status = alice.client.get("/api/integrations/github/status").json()
    assert status["installations"][0]["status_reporting"]["mode"] == "deployments"
    redeploy = alice.client.post(f"/api/projects/{project_id}/redeploy", headers=alice.headers)
    assert redeploy.status_code == 202, redeploy.text
    gh.run_until_idle()
    reporter.run_once()
    (deployment,) = _github_deployments(gh)  # the earlier deployment stays unreported
    assert _states(deployment) == ["queued", "in_progress", "success"]


def test_permissions_never_listed_are_asked_of_github_before_reporting(gh: GitHubHarness) -> None:
    _linked(gh, BOTH)
    with session_scope(gh.ctx.sessions) as db:  # as after an upgrade: nothing known yet
        db.execute(update(m.GitHubInstallation).values(permissions=None))
    gh.run_until_idle()
    StatusReporter(gh.ctx).run_once()  # GET /app/installations/{id} with the App's JWT
    (deployment,) = _github_deployments(gh)
    assert _states(deployment) == ["queued", "in_progress", "success"]
    with session_scope(gh.ctx.sessions) as db:
        (row,) = db.scalars(select(m.GitHubInstallation))
        assert row.permissions is not None and row.permissions["deployments"] == "write"


def test_two_reporters_at_once_post_each_status_once(gh: GitHubHarness) -> None:
    _linked(gh, BOTH)
    gh.run_until_idle()
    reporters = [StatusReporter(gh.ctx) for _ in range(4)]
    start = threading.Barrier(len(reporters))

    def report(reporter: StatusReporter) -> None:
        start.wait()
        for _ in range(3):
            reporter.run_once()

    threads = [threading.Thread(target=report, args=(r,)) for r in reporters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (deployment,) = _github_deployments(gh)
    assert _states(deployment) == ["queued", "in_progress", "success"]


def test_a_job_read_before_another_reporter_finished_it_posts_nothing(gh: GitHubHarness) -> None:
    _linked(gh, BOTH)
    gh.run_until_idle()
    with session_scope(gh.ctx.sessions) as db:
        enrol(db)
    with session_scope(gh.ctx.sessions) as db:
        (stale,) = due(db, ctx=gh.ctx, now=utcnow())  # one reporter has read the job ...
    StatusReporter(gh.ctx).run_once()  # ... another reports everything meanwhile ...
    StatusReporter(gh.ctx)._report(stale)  # ... then the first posts what it read
    (deployment,) = _github_deployments(gh)  # refused at the claim: nothing posted twice
    assert _states(deployment) == ["queued", "in_progress", "success"]


@pytest.fixture
def served(
    make_settings: Callable[..., Settings],
    database_url: str,
    deploy_data_dir: Path,
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
) -> Iterator[GitHubHarness]:
    """The orchestrator as `nanoscale serve` runs it: worker and reporter in the background."""
    with github_harness(
        make_settings, github_sim, github_served, database_url=database_url,
        data_dir=deploy_data_dir, health_check_timeout_seconds=20, drain_seconds=0.2,
        lease_seconds=5, worker_poll_seconds=0.1, worker_enabled=True,
    ) as harness:  # fmt: skip
        harness.deliver_to_nanoscale()
        try:
            yield harness
            harness.sim.deliverer.wait_idle(60)
            harness.recorder.assert_clean()
        finally:  # releases outlive an orchestrator by design; a test's must not
            runtime = backends_for(harness.ctx).runtime
            stop_all = getattr(runtime, "stop_all", None)
            if stop_all is not None:
                stop_all(grace_seconds=2)


def _eventually(check: Callable[[], bool], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "GitHub never heard"
        time.sleep(0.2)


def test_the_running_orchestrator_reports_on_its_own(served: GitHubHarness) -> None:
    gh = served
    _linked(gh, BOTH)
    _eventually(lambda: [_states(d) for d in _github_deployments(gh)] == [
        ["queued", "in_progress", "success"]])  # fmt: skip
    second_sha = _push(gh, "v2")
    _eventually(lambda: [_states(d) for d in _github_deployments(gh)] == [
        ["queued", "in_progress", "success", "inactive"],
        ["queued", "in_progress", "success"]])  # fmt: skip
    assert _github_deployments(gh)[1].sha == second_sha


def test_superseded_deployments_turn_inactive_or_never_reach_github(gh: GitHubHarness) -> None:
    alice, project_id = _linked(gh, BOTH)
    reporter = StatusReporter(gh.ctx)
    reporter.run_once()  # GitHub hears of the first deployment (queued)
    _push(gh, "v2")  # queued, never reported: coalesced away before the reporter saw it
    newest = _push(gh, "v3")
    gh.run_until_idle()  # the newest commit wins; the others are superseded
    reporter.run_once()
    states = [d["state"] for d in _deployments_of(alice, project_id)]
    assert states == ["superseded", "superseded", "live"]
    first, last = _github_deployments(gh)
    assert (first.sha, _states(first)) == (_head_before(gh, newest, 2), ["queued", "inactive"])
    assert (last.sha, _states(last)) == (newest, ["queued", "in_progress", "success"])
    assert reporter.run_once() == 0
    with session_scope(gh.ctx.sessions) as db:
        assert [r.done for r in db.scalars(select(GitHubStatusReport))].count(True) == 2


def _head_before(gh: GitHubHarness, sha: str, generations: int) -> str:
    for _ in range(generations):
        sha = gitstore.commit_info(gh.world.app_repo.path, sha).parents[0]
    return sha


def test_a_permission_withdrawn_on_github_is_noticed_and_shown(gh: GitHubHarness) -> None:
    alice, _project_id = _linked(gh, BOTH)
    (installation,) = [i for i in gh.sim.state.installations.values() if i.app is gh.world.app]
    del installation.permissions["deployments"]  # the owner's installation no longer grants it
    gh.run_until_idle()
    reporter = StatusReporter(gh.ctx)
    reporter.run_once()  # GitHub refuses the narrowed token (422): permissions asked again
    assert _github_deployments(gh) == []
    status = alice.client.get("/api/integrations/github/status").json()
    assert status["installations"][0]["status_reporting"]["mode"] == "statuses"
    reporter.run_once()  # nothing was shown yet: the deployment is reported the way left
    assert [(s.context, s.state) for s in gh.sim.state.commit_statuses] == [
        ("nanoscale/shop", "success")]  # fmt: skip


def test_a_rate_limited_report_waits_for_githubs_reset(gh: GitHubHarness) -> None:
    _linked(gh, BOTH)
    gh.run_until_idle()
    gh.sim.faults.add(r"/deployments$", method="POST", rate_limited=True, times=1)
    before = utcnow()
    StatusReporter(gh.ctx).run_once()
    assert _github_deployments(gh) == []
    with session_scope(gh.ctx.sessions) as db:
        (row,) = db.scalars(select(GitHubStatusReport))
        assert (row.attempts, row.last_error) == (1, "github_rate_limited")
        assert row.retry_at is not None
        assert row.retry_at >= before + timedelta(minutes=59)  # GitHub's reset, not 15 s
