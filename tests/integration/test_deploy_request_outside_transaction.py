"""Resolving a branch head (`git ls-remote`) never holds the caller's transaction open: on
SQLite that transaction holds the database's write lock, which other writers (the workers'
heartbeats, other requests) need while a slow remote answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nanoscale.accounts.models import User
from nanoscale.db.engine import session_scope
from nanoscale.deployments import service
from nanoscale.deployments.queue import requests
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import ProjectCreate
from tests.support.deploy import DeployHarness
from tests.support.git_server import GitServer


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def _write_elsewhere(deploy: DeployHarness) -> None:
    with session_scope(deploy.ctx.sessions) as other:
        other.add(User(username=f"writer-{time.monotonic_ns()}", password_hash="x"))


def test_request_for_the_branch_head_lets_other_writers_in_while_ls_remote_runs(
    deploy: DeployHarness, git_server: GitServer
) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo)
    result: list[str | None] = []

    def caller() -> None:  # like a request handler: its transaction is open (it read rows)
        with session_scope(deploy.ctx.sessions) as session:
            fresh = session.get_one(Project, project.id)
            deployment = requests.request_deployment(
                session, project=fresh, commit_sha=None, trigger="manual"
            )
            result.append(deployment.commit_sha)

    git_server.set_delay(2)  # each of ls-remote's requests waits
    thread = threading.Thread(target=caller)
    thread.start()
    try:
        _wait_for(lambda: bool(git_server.requests))
        _write_elsewhere(deploy)
        assert thread.is_alive(), "the other writer waited for ls-remote to finish"
    finally:
        thread.join(30)
        git_server.set_delay(0)
    assert result == [sha]


def test_create_and_deploy_project_creates_the_row_and_queues_the_head(
    deploy: DeployHarness,
) -> None:
    repo, sha = deploy.repo("web")
    with session_scope(deploy.ctx.sessions) as session:
        owner = session.get_one(User, deploy.owner_id)
        data = ProjectCreate(
            name="made-here", repo_url=repo.url, branch="main", start_command="node server.js"
        )
        project, deployment = service.create_and_deploy_project(
            session, ctx=deploy.ctx, owner=owner, data=data
        )
        project_id, deployment_id = project.id, deployment.id
    deploy.project_names.append("made-here")

    assert (deployment.trigger, deployment.commit_sha) == ("create", sha)
    deploy.run_until_idle()
    assert deploy.deployment(deployment_id).state == "live"

    with session_scope(deploy.ctx.sessions) as session:
        owner = session.get_one(User, deploy.owner_id)
        service.delete_project_and_teardown(
            session, ctx=deploy.ctx, user=owner, project_id=project_id
        )
    with session_scope(deploy.ctx.sessions) as session:
        assert session.get(Project, project_id) is None
