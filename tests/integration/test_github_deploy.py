"""Create a project from `github_source` and deploy the private repository live: a real git
clone from the simulator's smart HTTP with an installation token handed to git through the
environment only. The token never appears under the data dir, in logs or in any process's
command line; redeploys reuse the cached token; projects keep serving after a disconnect."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from nanoscale.accounts.models import AuditEvent
from nanoscale.db.engine import session_scope
from nanoscale.deployments.logs.build_log import log_text
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.releases import current_release
from nanoscale.github import models as m
from nanoscale.projects.models import Project
from tests.fakes.github import gitstore
from tests.integration.test_deploy_credentials import CmdlineSampler, _files_containing
from tests.support.api import fast_password_hashing
from tests.support.github_app import GitHubHarness, Person

__all__ = ["fast_password_hashing"]
pytestmark = [
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.github_harness(deploys=True),
]


def _create(person: Person, **source: Any) -> httpx.Response:
    body = {"name": f"gh-{person.username}", "start_command": "python3 app.py",
            "github_source": source}  # fmt: skip
    return person.client.post("/api/projects", json=body, headers=person.headers)  # type: ignore[return-value]


def _serve(gh: GitHubHarness, deployment_id: str) -> str:
    with session_scope(gh.ctx.sessions) as db:
        port = db.get_one(Deployment, deployment_id).release_port
    return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text


def _live_id(gh: GitHubHarness, project_id: str) -> str:
    with session_scope(gh.ctx.sessions) as db:
        live = current_release(db, project_id)
        assert live is not None
        return live.id


def _head(gh: GitHubHarness) -> str:
    sha = gitstore.resolve(gh.world.app_repo.path, "refs/heads/main")
    assert sha is not None
    return sha


def test_private_repository_deploys_live_without_leaking_the_token(
    gh: GitHubHarness, capfd: pytest.CaptureFixture[str]
) -> None:
    alice = gh.person("alice")
    gh.connect(alice, "octo-alice")
    installation_id, _ = gh.install(alice, "octo-alice", gh.world.alice)
    with CmdlineSampler([]) as sampler:
        created = _create(alice, installation_id=installation_id, repo_id=gh.world.app_repo.id)
        assert created.status_code == 201, created.text
        project = created.json()
        assert project["source_provider"] == "github"
        assert project["source_repo_id"] == gh.world.app_repo.id
        assert project["repo_url"] == f"{gh.served.base_url}/octo-alice/app.git"
        assert project["branch"] == "main"
        first = alice.client.get(f"/api/deployments/{project['deployment_id']}").json()
        assert first["commit_sha"] == _head(gh)  # the exact head, resolved at creation
        sampler.needles = [t.encode() for t in gh.all_tokens()]
        gh.run_until_idle()
        live = alice.client.get(f"/api/deployments/{project['deployment_id']}").json()
        assert live["state"] == "live", live
        with session_scope(gh.ctx.sessions) as db:  # how long minting the clone token took
            log = log_text(db, project["deployment_id"])
        assert re.search(r"Git credentials ready in \d+ ms\n", log), log
        assert _serve(gh, project["deployment_id"]).startswith(f"v1 {_head(gh)}")

        # Redeploys (head resolved through git with the same cached token) mint nothing new.
        minted = gh.gateway.minted
        for _ in range(2):
            again = alice.client.post(
                f"/api/projects/{project['id']}/redeploy", headers=alice.headers
            )
            assert again.status_code == 202, again.text
            gh.run_until_idle()
        assert gh.gateway.minted == minted
        clone_tokens = [t for t in gh.sim.state.installation_tokens.values()
                        if t.permissions == {"contents": "read"}]  # fmt: skip
        assert len(clone_tokens) == 1  # (the repository hook got its own, narrowed to hooks)
        sampler.needles = [t.encode() for t in gh.all_tokens()]
    assert sampler.leaks == []
    tokens = [t.encode() for t in gh.all_tokens()]
    assert _files_containing(gh.settings.data_dir, tokens) == []
    database = gh.settings.resolved_database_url
    if database.startswith("sqlite:///"):  # the database (WAL included) holds only ciphertexts
        db_file = Path(database.removeprefix("sqlite:///"))
        assert _files_containing(db_file.parent, tokens) == []
    out, err = capfd.readouterr()
    assert not any(t.decode() in out + err for t in tokens)
    with session_scope(gh.ctx.sessions) as db:
        link = db.scalars(select(m.ProjectGitHubLink)).one()
        assert (link.repo_id, link.selected_branch, link.active) == (
            gh.world.app_repo.id,
            "main",
            True,
        )
        assert "github.project_created" in db.scalars(select(AuditEvent.action)).all()

    # Disconnecting GitHub deactivates the mapping; the deployed project keeps serving.
    assert alice.client.post(
        "/api/integrations/github/disconnect", headers=alice.headers
    ).is_success
    served = _serve(gh, _live_id(gh, project["id"]))
    assert served.startswith(f"v1 {_head(gh)}")
    with session_scope(gh.ctx.sessions) as db:
        assert db.scalars(select(m.ProjectGitHubLink.active)).one() is False


def test_create_from_github_refuses_bad_sources_and_changes_nothing(gh: GitHubHarness) -> None:
    alice, bob = gh.person("alice"), gh.person("bob")
    gh.connect(alice, "octo-alice")
    gh.connect(bob, "octo-bob")
    mine, _ = gh.install(alice, "octo-alice", gh.world.alice)
    org, _ = gh.install(alice, "octo-alice", gh.world.org)
    repo_id = gh.world.app_repo.id

    both = {"name": "both", "repo_url": "https://github.com/a/b.git",
            "github_source": {"installation_id": mine, "repo_id": repo_id}}  # fmt: skip
    neither = {"name": "neither"}
    for body in (both, neither):
        response = alice.client.post("/api/projects", json=body, headers=alice.headers)
        assert response.status_code == 422, response.text
    cases = [
        (bob, {"installation_id": mine, "repo_id": repo_id}, 404,
         "github_installation_not_accessible"),
        (bob, {"installation_id": org, "repo_id": repo_id}, 404,
         "github_repository_not_accessible"),
        (alice, {"installation_id": mine, "repo_id": repo_id, "selected_branch": "a..b"}, 422,
         "invalid_input"),
        (alice, {"installation_id": mine, "repo_id": repo_id, "selected_branch": "nope"}, 422,
         "github_branch_not_found"),
        (alice, {"installation_id": mine, "repo_id": 999_999_999}, 404,
         "github_repository_not_accessible"),
    ]  # fmt: skip
    for person, source, status, code in cases:
        response = _create(person, **source)
        assert response.status_code == status, (source, response.text)
        assert response.json()["error"]["code"] == code
    with session_scope(gh.ctx.sessions) as db:
        assert db.query(Project).count() == 0
        assert db.query(m.ProjectGitHubLink).count() == 0
        assert "github.access_denied" in db.scalars(select(AuditEvent.action)).all()


def test_github_faults_are_clear_errors_that_change_nothing(gh: GitHubHarness) -> None:
    alice = gh.person("alice")
    gh.connect(alice, "octo-alice")
    mine, _ = gh.install(alice, "octo-alice", gh.world.alice)
    repo_id = gh.world.app_repo.id

    gh.sim.faults.add(r"/access_tokens$", status=502)
    outage = _create(alice, installation_id=mine, repo_id=repo_id)
    assert outage.status_code == 503
    assert outage.json()["error"]["code"] == "github_unavailable"
    gh.sim.faults.clear()

    gh.sim.faults.add(r"/access_tokens$", rate_limited=True, times=1)
    limited = _create(alice, installation_id=mine, repo_id=repo_id)
    assert limited.status_code == 503
    assert limited.json()["error"]["code"] == "github_rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    # Until GitHub's reset time, NanoScale does not even ask (the App's budget is spent).
    again = _create(alice, installation_id=mine, repo_id=repo_id)
    assert again.status_code == 503 and again.json()["error"]["code"] == "github_rate_limited"
    for message in (outage.text, limited.text):
        assert not any(t in message for t in gh.all_tokens())
    with session_scope(gh.ctx.sessions) as db:
        assert db.query(Project).count() == 0
