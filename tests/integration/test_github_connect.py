"""Connecting GitHub (plan §6.1, §6.2, §10) against the served simulator: authorize + install
as octo-alice (All and Only-selected), her private repositories listed, an organization's
installation shared by its members only, and the state/setup attacks refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from nanoscale.accounts.models import AuditEvent
from nanoscale.db.engine import session_scope
from nanoscale.github import models as m
from nanoscale.settings import Settings
from tests.support.api import fast_password_hashing
from tests.support.github_app import GitHubHarness

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def _actions(gh: GitHubHarness) -> list[str]:
    with session_scope(gh.ctx.sessions) as db:
        return [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.created_at))]


def _repos(gh: GitHubHarness, person: object, installation_id: int, **params: object) -> dict:
    client = person.client  # type: ignore[attr-defined]
    response = client.get(
        "/api/integrations/github/repos", params={"installation_id": installation_id, **params}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_alice_connects_installs_on_all_repositories_and_sees_her_private_ones(
    gh: GitHubHarness,
) -> None:
    alice = gh.person("alice")
    assert gh.connect(alice, "octo-alice") == {"github": "connected"}
    installation_id, outcome = gh.install(alice, "octo-alice", gh.world.alice)
    assert outcome == {"github": "installed"}

    status = alice.client.get("/api/integrations/github/status").json()
    assert status["configured"] and status["connected"] and not status["reconnect_needed"]
    assert status["login"] == "octo-alice"
    assert [i["installation_id"] for i in status["installations"]] == [installation_id]

    listed = _repos(gh, alice, installation_id)
    by_name = {r["full_name"]: r for r in listed["repositories"]}
    assert set(by_name) == {"octo-alice/app", "octo-alice/site"}
    assert by_name["octo-alice/app"]["private"] is True
    assert by_name["octo-alice/site"]["private"] is False
    assert by_name["octo-alice/app"]["repo_id"] == gh.world.app_repo.id

    first = _repos(gh, alice, installation_id, limit=1)
    second = _repos(gh, alice, installation_id, limit=1, cursor=first["next_cursor"])
    assert [r["full_name"] for r in first["repositories"] + second["repositories"]] == [
        "octo-alice/app", "octo-alice/site",
    ]  # fmt: skip
    assert second["next_cursor"] is None
    assert [r["name"] for r in _repos(gh, alice, installation_id, query="SIT")["repositories"]] == [
        "site"
    ]
    assert {"github.connected", "github.installation_recorded"} <= set(_actions(gh))
    with session_scope(gh.ctx.sessions) as db:
        link = db.scalars(select(m.GitHubUserLink)).one()
        assert link.access_token_encrypted.startswith("v1.")  # sealed, never clear
    assert gh.recorder.keys("request") >= {"apps/list-installations-for-authenticated-user"}


def test_only_selected_installation_lists_just_the_selected_repository(gh: GitHubHarness) -> None:
    alice = gh.person("alice")
    gh.connect(alice, "octo-alice")
    installation_id, _ = gh.install(alice, "octo-alice", gh.world.alice, repos=[gh.world.app_repo])
    names = [r["full_name"] for r in _repos(gh, alice, installation_id)["repositories"]]
    assert names == ["octo-alice/app"]

    # The selection changes on GitHub: a sync picks it up, the old repository disappears.
    gh.sim.set_installation_repos(gh.sim.state.installations[installation_id], [gh.world.site])
    synced = alice.client.post(
        "/api/integrations/github/repos/sync",
        json={"installation_id": installation_id}, headers=alice.headers,
    )  # fmt: skip
    assert synced.status_code == 200, synced.text
    assert synced.json()["changed"] is True
    names = [r["full_name"] for r in _repos(gh, alice, installation_id)["repositories"]]
    assert names == ["octo-alice/site"]


def test_org_installation_is_visible_to_both_members_and_to_no_one_else(gh: GitHubHarness) -> None:
    alice, bob, carol = gh.person("alice"), gh.person("bob"), gh.person("carol")
    for person, login in ((alice, "octo-alice"), (bob, "octo-bob"), (carol, "octo-carol")):
        assert gh.connect(person, login) == {"github": "connected"}
    org_installation, _ = gh.install(alice, "octo-alice", gh.world.org)

    for person in (alice, bob):
        listed = person.client.get("/api/integrations/github/installations").json()
        assert org_installation in [i["installation_id"] for i in listed["installations"]]
        names = [r["full_name"] for r in _repos(gh, person, org_installation)["repositories"]]
        assert names == ["octo-org/platform"]
    carols = carol.client.get("/api/integrations/github/installations").json()
    assert carols["installations"] == []
    refused = carol.client.get(
        "/api/integrations/github/repos", params={"installation_id": org_installation}
    )
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "github_installation_not_accessible"

    # Bob leaves the organization on GitHub: his access goes at the next check.
    del gh.world.org.members[gh.world.bob.id]
    assert bob.client.get("/api/integrations/github/installations").json()["installations"] == []
    assert (
        bob.client.get(
            "/api/integrations/github/repos", params={"installation_id": org_installation}
        ).status_code
        == 404
    )
    with session_scope(gh.ctx.sessions) as db:
        holders = db.scalars(
            select(m.GitHubInstallationAccess.local_user_id).where(
                m.GitHubInstallationAccess.installation_id == org_installation
            )
        ).all()
        assert len(holders) == 1  # alice only


def test_setup_with_an_installation_the_user_cannot_access_records_nothing(
    gh: GitHubHarness,
) -> None:
    alice, carol = gh.person("alice"), gh.person("carol")
    gh.connect(alice, "octo-alice")
    gh.connect(carol, "octo-carol")
    installation_id, _ = gh.install(alice, "octo-alice", gh.world.alice)
    response = carol.client.get(
        "/api/integrations/github/setup", params={"installation_id": installation_id}
    )
    assert response.status_code == 303
    assert "github_error=github_installation_not_accessible" in response.headers["location"]
    with session_scope(gh.ctx.sessions) as db:
        assert db.query(m.GitHubInstallationAccess).count() == 1  # alice's, from her setup
    assert "github.access_denied" in _actions(gh)


def _state_of(url: str) -> str:
    from tests.fakes.github.testkit import query_of

    return query_of(url)["state"]


def test_state_is_single_use_bound_to_the_session_and_expires(gh: GitHubHarness) -> None:
    alice, bob = gh.person("alice"), gh.person("bob")
    callback = gh.authorize(alice, "octo-alice")

    # Another NanoScale user's browser presenting alice's callback: refused, nothing linked.
    assert gh.finish(bob, callback)["github_error"] == "github_state_foreign"
    # Tampered state.
    tampered = callback.replace(_state_of(callback), _state_of(callback)[:-2] + "xx")
    assert gh.finish(alice, tampered)["github_error"] == "github_state_invalid"
    # The real one works once; its replay is refused.
    assert gh.finish(alice, callback) == {"github": "connected"}
    assert gh.finish(alice, callback)["github_error"] == "github_state_used"

    # An expired state.
    later = gh.authorize(bob, "octo-bob")
    with session_scope(gh.ctx.sessions) as db:
        db.execute(
            update(m.GitHubOAuthState)
            .where(m.GitHubOAuthState.used_at.is_(None))
            .values(expires_at=m.utcnow() - timedelta(seconds=1))
        )
    assert gh.finish(bob, later)["github_error"] == "github_state_expired"
    with session_scope(gh.ctx.sessions) as db:
        assert [link.github_login for link in db.scalars(select(m.GitHubUserLink))] == [
            "octo-alice"
        ]


def test_callback_without_a_browser_session_is_refused(gh: GitHubHarness) -> None:
    alice = gh.person("alice")
    callback = gh.authorize(alice, "octo-alice")
    bare = gh._client()
    path = callback.removeprefix("http://testserver")
    assert bare.get(path).status_code == 401
    token = alice.client.post("/api/tokens", json={"name": "t"}, headers=alice.headers).json()
    by_token = bare.get(path, headers={"Authorization": f"Bearer {token['token']}"})
    assert by_token.status_code == 401
    assert gh.finish(alice, callback) == {"github": "connected"}  # the state survived


def test_denied_consent_and_one_github_account_per_user(gh: GitHubHarness) -> None:
    alice, bob = gh.person("alice"), gh.person("bob")
    denied = gh.authorize(alice, "octo-alice", decision="cancel")
    assert gh.finish(alice, denied)["github_error"] == "github_access_denied"
    assert gh.connect(alice, "octo-alice") == {"github": "connected"}
    taken = gh.connect(bob, "octo-alice")
    assert taken == {"github_error": "github_account_taken", "github_status": "409"}
    assert bob.client.get("/api/integrations/github/status").json()["connected"] is False


def test_start_refuses_without_configuration(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    from fastapi.testclient import TestClient

    from nanoscale.app import create_app
    from nanoscale.context import build_context
    from nanoscale.db.migrate import upgrade
    from tests.support.api import setup_admin

    settings = make_settings(database_url=database_url)
    ctx = build_context(settings)
    upgrade(ctx.engine)
    with TestClient(create_app(settings, context=ctx)) as client:
        csrf = setup_admin(client)
        status = client.get("/api/integrations/github/status").json()
        assert status["configured"] is False
        started = client.post("/api/integrations/github/start", headers={"X-CSRF-Token": csrf})
        assert started.status_code == 404
        assert started.json()["error"]["code"] == "github_not_configured"
    ctx.close()


def test_resync_of_an_unchanged_installation_is_conditional(gh: GitHubHarness) -> None:
    alice = gh.person("alice")
    gh.connect(alice, "octo-alice")
    installation_id, _ = gh.install(alice, "octo-alice", gh.world.alice)
    _repos(gh, alice, installation_id)  # first listing fills the cache
    synced = alice.client.post(
        "/api/integrations/github/repos/sync",
        json={"installation_id": installation_id}, headers=alice.headers,
    )  # fmt: skip
    assert synced.json() == {"installation_id": installation_id, "repositories": 2,
                             "changed": False}  # fmt: skip
    gh.sim.add_repo(gh.world.alice, "fresh", private=True)
    synced = alice.client.post(
        "/api/integrations/github/repos/sync",
        json={"installation_id": installation_id}, headers=alice.headers,
    )  # fmt: skip
    assert synced.json()["changed"] is True and synced.json()["repositories"] == 3
