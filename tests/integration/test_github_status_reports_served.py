"""Status reporting by a real `nanoscale serve` (worker and reporter in the background), the
simulator delivering over HTTP, SQLite and PostgreSQL: the App starts without the optional
permissions (nothing reported, the status endpoint says why); the owner accepts
`deployments: write` and `statuses: write` (GitHub tells NanoScale with
`installation.new_permissions_accepted`); the next push shows on GitHub as a Deployment that
goes queued → in_progress → success, then inactive once the following push replaces it."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select

from nanoscale.db.engine import session_scope
from nanoscale.github.status_reports.models import GitHubStatusReport
from tests.fakes.github.records import Deployment as GitHubDeployment
from tests.support.served_github import ServedGitHub, served_github_stack

__all__ = ["served_github_stack"]
REPORT_LIMIT_SECONDS = 120  # a readiness bound for a deploy plus a report, not a speed check


def _eventually(stack: ServedGitHub, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + REPORT_LIMIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            lines = [line for line in stack.server.output().splitlines()
                     if "status_report" in line or "github.request" in line]  # fmt: skip
            raise AssertionError(f"GitHub never heard: {_states(stack)}\n" + "\n".join(lines))
        time.sleep(0.2)


def _github_deployments(stack: ServedGitHub) -> list[GitHubDeployment]:
    repo_id = stack.gh.world.app_repo.id
    return sorted((d for d in stack.gh.sim.state.deployments if d.repo_id == repo_id),
                  key=lambda d: d.id)  # fmt: skip


def _states(stack: ServedGitHub) -> list[list[str]]:
    return [[s.state for s in d.statuses] for d in _github_deployments(stack)]


def _enrolled(stack: ServedGitHub) -> set[str]:
    with session_scope(stack.gh.ctx.sessions) as db:
        return set(db.scalars(select(GitHubStatusReport.deployment_id)))


def _push(stack: ServedGitHub, version: str) -> str:
    sim, repo = stack.gh.sim, stack.gh.world.app_repo
    sha = sim.commit(repo, "main", {"version.txt": f"{version}\n"}, message=version)
    stack.wait_deliveries()
    (deployment,) = [d for d in stack.deployments() if d.commit_sha == sha]
    assert stack.wait_settled(deployment.id) == "live", stack.server.output()[-5000:]
    return sha


def test_accepting_the_status_permissions_shows_the_next_deployments_on_github(
    served_github_stack: ServedGitHub,
) -> None:
    stack = served_github_stack
    gh, alice = stack.gh, stack.alice
    (before,) = alice.client.get("/api/integrations/github/status").json()["installations"]
    assert before["status_reporting"]["mode"] == "none"
    assert "deployments: write" in before["status_reporting"]["reason"]
    assert _github_deployments(stack) == [] and gh.sim.state.commit_statuses == []

    # The reporter decides a deployment's mode when it first sees it: let it see "shop"'s
    # first deployment (nothing to report) before the permissions change.
    _eventually(stack, lambda: _enrolled(stack) == {d.id for d in stack.deployments()})
    app = gh.world.app
    gh.sim.request_permissions(app, {**app.permissions, "deployments": "write",
                                     "statuses": "write"})  # fmt: skip
    (installation,) = [i for i in gh.sim.state.live_installations() if i.app is app]
    gh.sim.accept_permissions(installation)
    stack.wait_deliveries()
    (after,) = alice.client.get("/api/integrations/github/status").json()["installations"]
    assert after["status_reporting"] == {"mode": "deployments", "reason": None}

    first = _push(stack, "reported-1")
    _eventually(stack, lambda: _states(stack) == [["queued", "in_progress", "success"]])
    (deployment,) = _github_deployments(stack)
    assert (deployment.sha, deployment.environment) == (first, "shop")
    success = deployment.statuses[-1]
    assert success.log_url.startswith(f"{stack.server.url}/projects/{stack.project['id']}/")
    assert success.environment_url.startswith("http://127.0.0.1:")  # the project's URL (no proxy)

    _push(stack, "reported-2")
    _eventually(stack, lambda: _states(stack) == [["queued", "in_progress", "success", "inactive"],
                                           ["queued", "in_progress", "success"]])  # fmt: skip
    assert "github.status_report.posted" in stack.server.output()
    for token in gh.all_tokens():
        assert token not in stack.server.output()
