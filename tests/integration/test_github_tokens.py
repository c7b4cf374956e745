"""User tokens: refreshed before they expire (simulator clock), one refresh under concurrency
(GitHub's refresh tokens work once), a revoked grant marks the link "reconnect needed"."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from nanoscale.accounts.models import AuditEvent, User
from nanoscale.db.engine import session_scope
from nanoscale.github import models as m
from nanoscale.github.installations import fetch_user_installations
from nanoscale.github.sealed import unseal
from tests.fakes.github.simulator import GitHubSimulator
from tests.support.api import fast_password_hashing
from tests.support.github_app import GitHubHarness

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")
EIGHT_HOURS = 8 * 3600


def _connected_alice(gh: GitHubHarness) -> str:
    alice = gh.person("alice")
    gh.connect(alice, "octo-alice")
    gh.install(alice, "octo-alice", gh.world.alice)
    with session_scope(gh.ctx.sessions) as db:
        return db.scalars(select(User.id).where(User.username == "alice")).one()


def _used_refresh_tokens(sim: GitHubSimulator) -> int:
    return sum(1 for t in sim.state.refresh_tokens.values() if t.used)


def test_expired_user_token_is_refreshed_before_use(gh: GitHubHarness) -> None:
    _connected_alice(gh)
    alice = gh.person("alice")
    gh.sim.state.clock.advance(EIGHT_HOURS + 60)  # GitHub no longer accepts the access token
    listed = alice.client.get("/api/integrations/github/installations")
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["installations"]) == 1
    assert _used_refresh_tokens(gh.sim) == 1
    with session_scope(gh.ctx.sessions) as db:
        link = db.scalars(select(m.GitHubUserLink)).one()
        assert link.token_expires_at is not None
        assert link.token_expires_at > gh.sim.state.clock.now()


def test_concurrent_requests_refresh_once_and_burn_no_token(gh: GitHubHarness) -> None:
    user_id = _connected_alice(gh)
    gh.sim.state.clock.advance(EIGHT_HOURS + 60)
    results: list[object] = []
    start = threading.Barrier(6)

    def _call() -> None:
        start.wait()
        try:
            results.append(len(fetch_user_installations(gh.ctx, user_id=user_id)))
        except Exception as exc:  # collected, asserted below
            results.append(exc)

    threads = [threading.Thread(target=_call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 6
    assert _used_refresh_tokens(gh.sim) == 1  # exactly one refresh reached GitHub
    # The stored refresh token is the fresh, unused one: the next expiry refreshes again.
    gh.sim.state.clock.advance(EIGHT_HOURS + 60)
    assert len(fetch_user_installations(gh.ctx, user_id=user_id)) == 1
    assert _used_refresh_tokens(gh.sim) == 2


def _alice_token(gh: GitHubHarness) -> str:
    with session_scope(gh.ctx.sessions) as db:
        link = db.scalars(select(m.GitHubUserLink)).one()
        return unseal(gh.ctx.keyring, m.ACCESS_TOKEN_CONTEXT, link.id, link.access_token_encrypted)


def test_revoked_grant_marks_the_link_reconnect_needed_until_reconnected(
    gh: GitHubHarness,
) -> None:
    _connected_alice(gh)
    alice = gh.person("alice")
    # The grant is revoked on GitHub (as the user's "Revoke" button does): tokens stop working.
    app = gh.world.app
    revoked = gh.sim_web().request(
        "DELETE", f"/api/v3/applications/{app.client_id}/grant",
        auth=(app.client_id, app.client_secret), json={"access_token": _alice_token(gh)},
    )  # fmt: skip
    assert revoked.status_code == 204, revoked.text

    refused = alice.client.get("/api/integrations/github/installations")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "github_reconnect_needed"
    status = alice.client.get("/api/integrations/github/status").json()
    assert status["connected"] and status["reconnect_needed"]
    with session_scope(gh.ctx.sessions) as db:
        actions = db.scalars(select(AuditEvent.action)).all()
        assert "github.reconnect_needed" in actions

    assert gh.connect(alice, "octo-alice") == {"github": "connected"}
    assert alice.client.get("/api/integrations/github/status").json()["reconnect_needed"] is False
    assert alice.client.get("/api/integrations/github/installations").status_code == 200


def test_disconnect_revokes_the_grant_and_forgets_tokens_and_access(gh: GitHubHarness) -> None:
    _connected_alice(gh)
    alice = gh.person("alice")
    token = _alice_token(gh)
    response = alice.client.post("/api/integrations/github/disconnect", headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"disconnected": True, "revoked_at_github": True}
    # GitHub forgot the grant: the token NanoScale held no longer works there.
    user = gh.sim_web().get("/api/v3/user", headers={"Authorization": f"Bearer {token}"})
    assert user.status_code == 401
    with session_scope(gh.ctx.sessions) as db:
        assert db.query(m.GitHubUserLink).count() == 0
        assert db.query(m.GitHubInstallationAccess).count() == 0
        assert db.query(m.GitHubRepositoryAccess).count() == 0
        assert "github.disconnected" in db.scalars(select(AuditEvent.action)).all()
    status = alice.client.get("/api/integrations/github/status").json()
    assert status["connected"] is False and status["installations"] == []
    listed = alice.client.get("/api/integrations/github/installations")
    assert listed.status_code == 409
    assert listed.json()["error"]["code"] == "github_not_connected"
