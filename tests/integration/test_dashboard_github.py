"""The dashboard's GitHub states that the browser tests do not reach: GitHub unreachable or
rate-limited shows on the card (the page still renders), an unconfirmed disconnect changes
nothing, and the New Project form refuses a repository the user cannot pick without creating
anything."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from nanoscale.db.engine import session_scope
from nanoscale.github import models as m
from nanoscale.projects.models import Project
from tests.support.api import fast_password_hashing
from tests.support.github_app import GitHubHarness, Person

__all__ = ["fast_password_hashing"]
pytestmark = [
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.github_harness(deploys=True),
]


def _form(person: Person, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": person.headers["X-CSRF-Token"], **fields}


@pytest.mark.parametrize(
    ("fault", "says"),
    [({"status": 503}, "could not be reached"), ({"rate_limited": True}, "rate limit")],
)
def test_settings_card_says_when_github_is_unreachable_or_rate_limited(
    gh: GitHubHarness, fault: dict[str, Any], says: str
) -> None:
    alice = gh.person("alice")
    gh.connect(alice, "octo-alice")
    gh.sim.faults.add(r"/app$", **fault)
    page = alice.client.get("/settings")
    assert page.status_code == 200
    assert "data-github-problem" in page.text
    assert says in page.text
    assert "data-github-login>octo-alice<" in page.text  # what is known still shows


def test_disconnect_needs_the_confirmation(gh: GitHubHarness) -> None:
    alice = gh.person("alice")
    gh.connect(alice, "octo-alice")
    answer = alice.client.post("/settings/github/disconnect", data=_form(alice))
    assert answer.status_code == 303
    assert "github_disconnect_unconfirmed" in answer.headers["location"]
    with session_scope(gh.ctx.sessions) as db:
        assert db.scalar(select(func.count()).select_from(m.GitHubUserLink)) == 1
    confirmed = alice.client.post(
        "/settings/github/disconnect", data=_form(alice, confirm="disconnect")
    )
    assert confirmed.headers["location"] == "/settings?github=disconnected"
    with session_scope(gh.ctx.sessions) as db:
        assert db.scalar(select(func.count()).select_from(m.GitHubUserLink)) == 0


def test_new_project_refuses_a_repository_the_user_cannot_pick(gh: GitHubHarness) -> None:
    alice, bob = gh.person("alice"), gh.person("bob")
    gh.connect(alice, "octo-alice")
    installation_id, _ = gh.install(alice, "octo-alice", gh.world.alice)
    gh.connect(bob, "octo-bob")
    form = _form(bob, source="github", installation_id=str(installation_id),
                 repo_id=str(gh.world.app_repo.id), branch="main", name="stolen",
                 start_command="python3 app.py")  # fmt: skip
    answer = bob.client.post("/projects/new", data=form)
    assert answer.status_code == 404
    assert "not accessible to your GitHub account" in answer.text
    assert "octo-alice/app" not in answer.text
    with session_scope(gh.ctx.sessions) as db:
        assert db.scalar(select(func.count()).select_from(Project)) == 0
