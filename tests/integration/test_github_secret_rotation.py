"""Webhook secret rotation (plan §5.3) with deliveries arriving throughout: none is refused.

Deliveries are signed when GitHub sends them; the simulator's deferred mode holds signed
deliveries "in flight" across the rotation, then delivers them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.github import models as m
from nanoscale.github.hook_rotation import rotate_hook_secrets
from nanoscale.github.sealed import unseal
from nanoscale.settings import Settings
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.fakes.github.state import Delivery
from tests.support.api import fast_password_hashing
from tests.support.cli import run_cli
from tests.support.github_app import GitHubHarness, github_harness
from tests.support.github_env import nanoscale_environment

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")
NEW_APP_SECRET = "the-new-app-webhook-secret"


def _harness(
    make_settings: Callable[..., Settings],
    sim: GitHubSimulator,
    served: ServedSimulator,
    database_url: str,
    **overrides: Any,
) -> Any:
    return github_harness(make_settings, sim, served, database_url=database_url, **overrides)


@pytest.fixture
def gh(
    make_settings: Callable[..., Settings],
    database_url: str,
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
) -> Iterator[GitHubHarness]:
    with _harness(make_settings, github_sim, github_served, database_url) as harness:
        harness.deliver_to_nanoscale()
        yield harness
        harness.sim.deliverer.wait_idle()


def _project(gh: GitHubHarness) -> None:
    gh.create_shop()
    assert gh.sim.deliverer.wait_idle()


def _stored_secret(gh: GitHubHarness) -> str:
    with session_scope(gh.ctx.sessions) as db:
        link = db.scalars(select(m.ProjectGitHubLink)).one()
        return unseal(gh.ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, link.id,
                      link.webhook_secret_encrypted)  # fmt: skip


def _push(gh: GitHubHarness, n: int) -> None:
    gh.sim.commit(gh.world.app_repo, "main", {"version.txt": f"v{n}\n"}, message=f"v{n}")


def _pushes(gh: GitHubHarness) -> list[Delivery]:
    return [d for d in gh.sim.state.deliveries if d.event == "push"]


def test_rotating_hook_secrets_refuses_no_delivery_in_flight(gh: GitHubHarness) -> None:
    _project(gh)
    hook = next(iter(gh.world.app_repo.hooks.values()))
    old = _stored_secret(gh)
    assert hook.secret == old

    gh.sim.deliverer.deferred = True
    _push(gh, 2)  # signed with the old secret, still in flight during the rotation
    results = rotate_hook_secrets(gh.ctx)
    _push(gh, 3)  # signed with the new one
    gh.sim.deliverer.deferred = False
    in_flight = gh.sim.deliverer.flush()

    assert [(r.full_name, r.hook_id, r.error) for r in results] == [
        ("octo-alice/app", hook.id, None)
    ]
    new = _stored_secret(gh)
    assert new != old and hook.secret == new  # replaced on GitHub and here alike
    repo_copies = [d for d in in_flight if d.target_type == "repository"]
    assert len(repo_copies) == 2
    assert all(d.status_code in (200, 202) for d in in_flight), [
        (d.target_type, d.status_code) for d in in_flight
    ]

    # The old secret is accepted only until the grace period ends.
    with session_scope(gh.ctx.sessions) as db:
        for link in db.scalars(select(m.ProjectGitHubLink)):
            link.alternate_secret_until = utcnow() - timedelta(seconds=1)
    late = gh.sim.deliverer.redeliver(repo_copies[0])  # same bytes, old signature
    assert gh.sim.deliverer.wait_idle()
    assert late.status_code == 401


def test_pushes_arriving_throughout_repeated_rotations_are_all_accepted(
    gh: GitHubHarness,
) -> None:
    _project(gh)
    stop = threading.Event()

    def pushing() -> None:
        n = 10
        while not stop.is_set():
            _push(gh, n)
            n += 1

    pusher = threading.Thread(target=pushing)
    pusher.start()
    try:
        for _ in range(3):
            assert all(r.error is None for r in rotate_hook_secrets(gh.ctx))
    finally:
        stop.set()
        pusher.join()
    assert gh.sim.deliverer.wait_idle()
    codes = [d.status_code for d in _pushes(gh)]
    assert len(codes) >= 2
    assert 401 not in codes and all(c in (200, 202) for c in codes), codes


def test_the_cli_rotates_hook_secrets_and_reports_each_hook(
    gh: GitHubHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(gh)
    old = _stored_secret(gh)
    for name, value in nanoscale_environment(gh.settings).items():
        monkeypatch.setenv(name, value)
    result = run_cli("github", "rotate-hook-secrets", "--grace-minutes", "5")
    assert result.exit_code == 0, result.output
    hook = next(iter(gh.world.app_repo.hooks.values()))
    assert f"octo-alice/app hook {hook.id}: rotated" in result.output
    assert "1 of 1 repository hook secret(s) rotated" in result.output
    assert _stored_secret(gh) == hook.secret != old
    assert old not in result.output and hook.secret not in result.output


def test_a_previous_app_webhook_secret_is_accepted_during_rotation(
    make_settings: Callable[..., Settings],
    database_url: str,
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
) -> None:
    with _harness(make_settings, github_sim, github_served, database_url,
                  github_webhook_secret=NEW_APP_SECRET,
                  github_webhook_secret_previous="webhook-secret-for-tests") as gh:  # fmt: skip
        gh.deliver_to_nanoscale()  # the App on GitHub still signs with the old secret
        _project(gh)
        gh.sim.deliverer.deferred = True
        _push(gh, 2)  # old secret, in flight while the operator changes it on GitHub
        gh.world.app.webhook_secret = NEW_APP_SECRET
        _push(gh, 3)
        gh.sim.deliverer.deferred = False
        delivered = [d for d in gh.sim.deliverer.flush() if d.target_type == "integration"]
        assert len(delivered) == 2
        assert all(d.status_code in (200, 202) for d in delivered)


def test_without_the_previous_secret_old_app_signatures_are_refused(
    make_settings: Callable[..., Settings],
    database_url: str,
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
) -> None:
    with _harness(make_settings, github_sim, github_served, database_url,
                  github_webhook_secret=NEW_APP_SECRET) as gh:  # fmt: skip
        gh.deliver_to_nanoscale()  # signs with the old secret, which is no longer configured
        _project(gh)
        gh.sim.deliverer.deferred = True
        _push(gh, 2)
        gh.sim.deliverer.deferred = False
        delivered = [d for d in gh.sim.deliverer.flush() if d.target_type == "integration"]
        assert [d.status_code for d in delivered] == [401]
