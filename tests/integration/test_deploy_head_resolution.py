"""A request for a branch head never waits on the git host: it is queued without a commit
and the worker resolves the head (`git ls-remote`) when it claims it. The request thread
(an API handler, the dashboard, the CLI) makes no network call at all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nanoscale.accounts.models import User
from nanoscale.db.engine import session_scope
from nanoscale.deployments import service
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import ProjectCreate
from nanoscale.settings import Settings
from tests.support.deploy import APPS, DeployHarness, deploy_settings_overrides
from tests.support.deploy_api import Api, open_api
from tests.support.git_server import GitServer


@pytest.fixture
def api(
    make_settings: Callable[..., Settings], git_server: GitServer, deploy_data_dir: Path
) -> Iterator[Api]:
    settings = make_settings(**deploy_settings_overrides(deploy_data_dir, git_server))
    with open_api(settings, git_server) as api:
        yield api


def test_redeploy_request_answers_without_contacting_the_git_host(
    api: Api, git_server: GitServer
) -> None:
    repo = api.deploy.git.create_repo("head")
    first = repo.commit_tree(APPS / "node", "v1")
    project = api.create("head", repo.url)
    api.deploy.run_until_idle()
    head = repo.commit({"version.txt": "v2\n"})
    git_server.requests.clear()

    requested = api.post(f"/api/projects/{project['id']}/redeploy")

    # On the old code the handler ran `git ls-remote` before answering.
    assert git_server.requests == []
    assert (requested["deployment"]["state"], requested["deployment"]["commit_sha"]) == (
        "queued",
        None,
    )
    api.deploy.run_until_idle()
    done = api.get(f"/api/deployments/{requested['deployment_id']}")
    assert (done["state"], done["commit_sha"]) == ("live", head)
    assert head != first


def test_unresolvable_branch_fails_the_deployment_on_the_worker(deploy: DeployHarness) -> None:
    repo, _ = deploy.repo("web")
    project = deploy.project(repo, branch="does-not-exist")

    deployment_id = deploy.request(project, None)
    assert deploy.deployment(deployment_id).state == "queued"
    deploy.run_until_idle()

    failed = deploy.deployment(deployment_id)
    assert (failed.state, failed.error_code, failed.error_responsibility) == (
        "failed",
        "ref_not_found",
        "user",
    )


def test_a_head_already_queued_again_is_deployed_once(deploy: DeployHarness) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo)
    head_request = deploy.request(project, None)
    claim = deploy.worker.claim()
    assert claim is not None and claim.deployment_id == head_request
    # Between the claim and the resolve, someone queues that same commit explicitly.
    explicit = deploy.request(project, sha)

    deploy.worker.runner.run(head_request)
    deploy.run_until_idle()

    assert deploy.deployment(head_request).state == "superseded"
    assert deploy.deployment(head_request).commit_sha == sha
    assert deploy.deployment(explicit).state == "live"


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

    assert (deployment.trigger, deployment.commit_sha) == ("create", None)
    deploy.run_until_idle()
    assert (
        deploy.deployment(deployment_id).state,
        deploy.deployment(deployment_id).commit_sha,
    ) == (
        "live",
        sha,
    )

    with session_scope(deploy.ctx.sessions) as session:
        owner = session.get_one(User, deploy.owner_id)
        service.delete_project_and_teardown(
            session, ctx=deploy.ctx, user=owner, project_id=project_id
        )
    with session_scope(deploy.ctx.sessions) as session:
        assert session.get(Project, project_id) is None
