"""The reconciler (issue 12 item 6): a push whose App and repository-hook deliveries were both
lost is deployed by one pass, and a second pass requests nothing (and costs a 304); a deleted
or altered repository hook is repaired with a secret that verifies; a rename without a
delivery is followed; a nearly spent rate limit ends a pass early without errors; the
periodic thread runs; "Check for new commits" (API) runs it for one project; a hook repair
racing a secret rotation never leaves GitHub with a secret NanoScale no longer holds."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from typing import Any

import pytest
from sqlalchemy import delete, select

from nanoscale.db.engine import session_scope
from nanoscale.deployments.models import Deployment
from nanoscale.github import locks
from nanoscale.github import models as m
from nanoscale.github.hook_rotation import rotate_hook_secrets
from nanoscale.github.hooks import check_repository_hook
from nanoscale.github.reconcile_loop import LEASE_NAME, ReconcileLoop
from nanoscale.github.reconciler import reconcile_pass
from nanoscale.github.sealed import unseal
from tests.support.api import fast_password_hashing
from tests.support.cli import run_cli
from tests.support.github_app import GitHubHarness, Person
from tests.support.github_env import nanoscale_environment

__all__ = ["fast_password_hashing"]
pytestmark = [
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.github_harness(delivers=True, deploys=True),
]
HOOK_URL = "http://testserver/api/integrations/github/webhook"


def _project(gh: GitHubHarness, name: str = "shop") -> tuple[Person, str]:
    alice = gh.person("alice")
    if not gh.sim.state.installations:
        gh.connect(alice, "octo-alice")
        gh.install(alice, "octo-alice", gh.world.alice)
    installation_id = next(iter(gh.sim.state.installations))
    body = {"name": name, "start_command": "python3 app.py",
            "github_source": {"installation_id": installation_id,
                              "repo_id": gh.world.app_repo.id}}  # fmt: skip
    created = alice.client.post("/api/projects", json=body, headers=alice.headers)
    assert created.status_code == 201, created.text
    assert gh.sim.deliverer.wait_idle(120)
    return alice, str(created.json()["id"])


def _deployments(gh: GitHubHarness, project_id: str) -> list[Deployment]:
    with session_scope(gh.ctx.sessions) as db:
        query = select(Deployment).where(Deployment.project_id == project_id)
        return list(db.scalars(query.order_by(Deployment.queued_at)))


def _missed_push(gh: GitHubHarness, version: str) -> str:
    """A push whose App delivery and repository-hook delivery both never arrive."""
    gh.sim.deliverer.faults.drop_next = 2
    sha = gh.sim.commit(gh.world.app_repo, "main", {"version.txt": f"{version}\n"},
                        message=version)  # fmt: skip
    assert gh.sim.deliverer.wait_idle(120)
    assert gh.sim.deliverer.faults.drop_next == 0
    return sha


def _link(gh: GitHubHarness) -> m.ProjectGitHubLink:
    with session_scope(gh.ctx.sessions) as db:
        link = db.scalars(select(m.ProjectGitHubLink).order_by(m.ProjectGitHubLink.created_at))
        row = link.first()
        assert row is not None
        db.expunge(row)
        return row


def _secret(gh: GitHubHarness, link: m.ProjectGitHubLink) -> str:
    return unseal(gh.ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, link.id,
                  link.webhook_secret_encrypted)  # fmt: skip


def _only_hook(gh: GitHubHarness) -> Any:
    hooks = list(gh.world.app_repo.hooks.values())
    assert len(hooks) == 1, hooks
    return hooks[0]


def _rest_calls(gh: GitHubHarness) -> int:
    """Requests the simulator counted against the installations' rate limits so far."""
    return sum(w.used for k, w in gh.sim.rate_limits.windows.items() if "installation" in k)


def test_both_deliveries_lost_one_pass_deploys_the_head_and_a_second_pass_requests_nothing(
    gh: GitHubHarness,
) -> None:
    _, project_id = _project(gh)
    sha = _missed_push(gh, "v2")
    assert [d.commit_sha for d in _deployments(gh, project_id)] != [sha]
    assert sha not in [d.commit_sha for d in _deployments(gh, project_id)]

    report = reconcile_pass(gh.ctx)
    assert [(c.project_id, c.result, c.head_sha) for c in report.checks] == [
        (project_id, "deployed", sha)
    ]
    assert report.stopped is None
    pushed = [d for d in _deployments(gh, project_id) if d.commit_sha == sha]
    assert len(pushed) == 1
    assert pushed[0].trigger == "push" and pushed[0].ref == "main"
    assert pushed[0].correlation["source"] == "reconciler"

    # The second pass: nothing changed on GitHub, so its reads are 304s (not counted).
    used = _rest_calls(gh)
    again = reconcile_pass(gh.ctx)
    assert [c.result for c in again.checks] == ["up_to_date"]
    assert [c.hook for c in again.checks] == ["ok"]
    assert len(_deployments(gh, project_id)) == 2  # the create and the reconciled push
    assert _rest_calls(gh) == used

    # A late redelivery of the lost push adds nothing either (keyed on project, ref, SHA).
    push = next(d for d in reversed(gh.sim.state.deliveries) if d.event == "push")
    gh.sim.deliverer.redeliver(push)
    assert gh.sim.deliverer.wait_idle(120)
    assert len(_deployments(gh, project_id)) == 2
    with session_scope(gh.ctx.sessions) as db:
        link = db.scalars(select(m.ProjectGitHubLink)).one()
        assert link.check_result == "up_to_date" and link.checked_at is not None
        assert link.head_sha == sha


def test_a_deleted_hook_is_recreated_with_a_secret_that_verifies(gh: GitHubHarness) -> None:
    _, project_id = _project(gh)
    old = _only_hook(gh)
    with gh.sim.state.lock:
        del gh.world.app_repo.hooks[old.id]

    report = reconcile_pass(gh.ctx)
    assert [c.hook for c in report.checks] == ["created"]
    hook = _only_hook(gh)
    link = _link(gh)
    assert hook.id != old.id and link.webhook_id == hook.id and link.webhook_error is None
    assert hook.url == HOOK_URL and hook.events == ["push"] and hook.active
    assert hook.secret == _secret(gh, link)

    # GitHub signs the next push with that secret, and NanoScale accepts it.
    sha = gh.sim.commit(gh.world.app_repo, "main", {"version.txt": "v3\n"}, message="v3")
    assert gh.sim.deliverer.wait_idle(120)
    copies = [d for d in gh.sim.state.deliveries if d.event == "push" and d.hook_id == hook.id]
    assert [d.status_code for d in copies] and all(d.status_code in (200, 202) for d in copies)
    assert [d.commit_sha for d in _deployments(gh, project_id)].count(sha) == 1


def test_a_hook_changed_on_github_is_put_right_and_keeps_its_secret(
    gh: GitHubHarness,
) -> None:
    _project(gh)
    hook = _only_hook(gh)
    secret = hook.secret
    with gh.sim.state.lock:
        hook.url, hook.events, hook.active = "https://elsewhere.example/hook", ["issues"], False
        hook.content_type = "form"

    report = reconcile_pass(gh.ctx)
    assert [c.hook for c in report.checks] == ["fixed"]
    assert _only_hook(gh) is hook
    assert (hook.url, hook.events, hook.active, hook.content_type) == (
        HOOK_URL,
        ["push"],
        True,
        "json",
    )
    assert hook.secret == secret == _secret(gh, _link(gh))
    assert [c.hook for c in reconcile_pass(gh.ctx).checks] == ["ok"]


def test_a_hook_that_cannot_be_repaired_is_recorded_and_retried_next_pass(
    gh: GitHubHarness,
) -> None:
    _project(gh)
    old = _only_hook(gh)
    with gh.sim.state.lock:
        del gh.world.app_repo.hooks[old.id]
    fault = gh.sim.faults.add(r"/hooks$", method="POST", status=502)
    report = reconcile_pass(gh.ctx)
    assert [c.hook for c in report.checks] == ["failed"]
    assert _link(gh).webhook_error == "github_unavailable"
    assert not gh.world.app_repo.hooks

    gh.sim.faults.rules.remove(fault)
    assert [c.hook for c in reconcile_pass(gh.ctx).checks] == ["created"]
    assert _link(gh).webhook_error is None
    assert _only_hook(gh).secret == _secret(gh, _link(gh))


def test_a_rename_without_a_delivery_is_followed_and_deploys_still_work(
    gh: GitHubHarness,
) -> None:
    alice, project_id = _project(gh)
    gh.sim.deliverer.faults.drop_next = 1  # the App's `repository` event
    gh.sim.rename_repo(gh.world.app_repo, "app-renamed")
    assert gh.sim.deliverer.wait_idle(120)
    assert _link(gh).full_name == "octo-alice/app"

    sha = _missed_push(gh, "v2")
    report = reconcile_pass(gh.ctx)
    assert [(c.result, c.head_sha) for c in report.checks] == [("deployed", sha)]
    link = _link(gh)
    assert (link.full_name, link.repo_name) == ("octo-alice/app-renamed", "app-renamed")
    project = alice.client.get(f"/api/projects/{project_id}").json()
    assert project["repo_url"] == f"{gh.served.base_url}/octo-alice/app-renamed.git"
    gh.run_until_idle()
    deployed = next(d for d in _deployments(gh, project_id) if d.commit_sha == sha)
    assert deployed.state == "live", (deployed.state, deployed.error_message)


def test_a_nearly_spent_rate_limit_stops_the_pass_early_and_the_next_one_resumes(
    gh: GitHubHarness,
) -> None:
    _, first = _project(gh, "shop")
    _, second = _project(gh, "shop-2")
    _missed_push(gh, "v2")
    gh.sim.rate_limits.set_limit("installation", 26)  # a fresh window: 26 requests this hour

    report = reconcile_pass(gh.ctx, reserve=25)
    assert report.stopped == "rate_limit"
    assert len(report.checks) == 1  # the first link, then the reserve was reached
    assert not any(c.result.startswith("error:") for c in report.checks)
    checked = report.checks[0].project_id
    with session_scope(gh.ctx.sessions) as db:
        unchecked = db.scalars(select(m.ProjectGitHubLink.project_id).where(
            m.ProjectGitHubLink.checked_at.is_(None))).all()  # fmt: skip
    assert unchecked == [{first, second}.difference({checked}).pop()]

    gh.sim.rate_limits.set_limit("installation", 5000)
    resumed = reconcile_pass(gh.ctx)
    assert resumed.stopped is None
    assert resumed.checks[0].project_id == unchecked[0]  # the one left over goes first
    assert sorted(c.result for c in resumed.checks) == ["deployed", "up_to_date"]


def test_a_spent_rate_limit_ends_the_pass_without_errors(gh: GitHubHarness) -> None:
    _project(gh)
    gh.sim.faults.add(r"/repositories/\d+$", rate_limited=True)
    report = reconcile_pass(gh.ctx)
    assert report.stopped == "rate_limit" and report.checks == []
    assert _link(gh).checked_at is None  # first in line next time


def test_the_periodic_thread_reconciles_and_only_one_process_holds_the_lease(
    gh: GitHubHarness,
) -> None:
    _, project_id = _project(gh)
    sha = _missed_push(gh, "v2")
    rival = locks.new_holder()  # another serve process reconciling
    assert locks.try_acquire(gh.ctx, name=LEASE_NAME, holder=rival, seconds=600)
    loop = ReconcileLoop(gh.ctx, interval=0.2)
    assert loop.run_once() is None  # the rival holds the lease: this process stays out
    assert sha not in [d.commit_sha for d in _deployments(gh, project_id)]
    locks.release(gh.ctx, name=LEASE_NAME, holder=rival)
    loop.start()
    try:
        deadline = time.monotonic() + 60
        while loop.passes < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        loop.stop()
    assert loop.passes >= 2
    deployed = [d for d in _deployments(gh, project_id) if d.commit_sha == sha]
    assert len(deployed) == 1 and deployed[0].correlation["source"] == "reconciler"


def test_check_for_new_commits_in_the_api_runs_the_reconciler_for_one_project(
    gh: GitHubHarness,
) -> None:
    alice, project_id = _project(gh)
    sha = _missed_push(gh, "v2")
    url = f"/api/projects/{project_id}/github/check"
    first = alice.client.post(url, headers=alice.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["result"], body["head_sha"], body["branch"]) == ("deployed", sha, "main")
    assert body["deployment_id"] in {d.id for d in _deployments(gh, project_id)}
    second = alice.client.post(url, headers=alice.headers).json()
    assert (second["result"], second["deployment_id"]) == ("up_to_date", None)

    bob = gh.person("bob")  # not his project: 404, nothing requested
    assert bob.client.post(url, headers=bob.headers).status_code == 404
    assert alice.client.post("/api/projects/nope/github/check",
                             headers=alice.headers).status_code == 404  # fmt: skip
    assert len(_deployments(gh, project_id)) == 2


@pytest.mark.parametrize("hook_drifted", [False, True])
def test_a_hook_repair_racing_a_secret_rotation_leaves_github_with_the_current_secret(
    gh: GitHubHarness, hook_drifted: bool
) -> None:
    _, project_id = _project(gh)
    hook = _only_hook(gh)
    if hook_drifted:  # the repair has to write to GitHub while the rotation is under way
        with gh.sim.state.lock:
            hook.url = "https://elsewhere.example/hook"
    # GitHub takes its time with each side's first hook write, so the two overlap: a repair
    # that sent the secret it read before the rotation would land after the rotation's.
    gh.sim.faults.add(r"/hooks/\d+/config$", method="PATCH", latency=1.0, times=1)
    gh.sim.faults.add(r"/hooks/\d+$", method="PATCH", latency=2.0, times=1)
    rotation = threading.Thread(target=rotate_hook_secrets, args=(gh.ctx,))
    rotation.start()
    deadline = time.monotonic() + 30
    while _link(gh).alternate_secret_encrypted is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the rotation has stored its new secret and is talking to GitHub
    repaired = check_repository_hook(gh.ctx, project_id=project_id)
    rotation.join(60)
    assert not rotation.is_alive()

    assert repaired.action == ("fixed" if hook_drifted else "ok")
    assert _only_hook(gh) is hook and hook.url == HOOK_URL
    link = _link(gh)
    assert hook.secret == _secret(gh, link)  # GitHub and NanoScale hold the same secret
    assert link.alternate_secret_encrypted is not None
    old = unseal(gh.ctx.keyring, m.ALTERNATE_SECRET_CONTEXT, link.id,
                 link.alternate_secret_encrypted)  # fmt: skip
    assert hook.secret != old  # and it is the new one


def test_the_cli_runs_one_pass_and_reports_each_project(
    gh: GitHubHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, project_id = _project(gh)
    sha = _missed_push(gh, "v2")
    for name, value in nanoscale_environment(gh.settings).items():
        monkeypatch.setenv(name, value)
    result = run_cli("github", "reconcile", "--project", project_id)
    assert result.exit_code == 0, result.output
    assert f"project {project_id} (main {sha[:12]}): deployed, hook ok" in result.output
    assert "1 project(s) checked, 1 deployment(s) requested, 0 failed" in result.output
    again = run_cli("github", "reconcile")
    assert again.exit_code == 0, again.output
    assert "up_to_date" in again.output
    assert [d.commit_sha for d in _deployments(gh, project_id)].count(sha) == 1


def test_a_hook_whose_secret_was_removed_on_github_gets_the_one_nanoscale_holds(
    gh: GitHubHarness,
) -> None:
    _project(gh)
    hook = _only_hook(gh)
    with gh.sim.state.lock:
        hook.secret = ""  # GitHub drops it when a PATCH of the hook omits it
    assert [c.hook for c in reconcile_pass(gh.ctx).checks] == ["fixed"]
    assert hook.secret and hook.secret == _secret(gh, _link(gh))


def test_an_archived_repository_is_refreshed_but_not_deployed(gh: GitHubHarness) -> None:
    _, project_id = _project(gh)
    sha = _missed_push(gh, "v2")
    gh.sim.deliverer.faults.drop_next = 1  # the `repository` archived event
    gh.sim.archive_repo(gh.world.app_repo)
    assert gh.sim.deliverer.wait_idle(120)
    assert [c.result for c in reconcile_pass(gh.ctx).checks] == ["archived"]
    assert sha not in [d.commit_sha for d in _deployments(gh, project_id)]
    with session_scope(gh.ctx.sessions) as db:
        repo = db.scalars(select(m.GitHubRepository).where(
            m.GitHubRepository.repo_id == gh.world.app_repo.id)).one()  # fmt: skip
        assert repo.archived


def test_a_lease_held_by_a_dead_process_on_this_host_is_taken_over_at_once(
    gh: GitHubHarness,
) -> None:
    child = subprocess.Popen(["true"])
    child.wait()  # a pid that no longer exists
    dead = f"{socket.gethostname()}:{child.pid}:deadbeef"
    assert locks.try_acquire(gh.ctx, name=LEASE_NAME, holder=dead, seconds=600)
    alive = locks.new_holder()
    assert locks.try_acquire(gh.ctx, name=LEASE_NAME, holder=alive, seconds=600)
    assert not locks.try_acquire(gh.ctx, name=LEASE_NAME, holder=locks.new_holder(), seconds=1)


def test_links_of_a_suspended_installation_are_skipped(gh: GitHubHarness) -> None:
    _project(gh)
    installation_id = next(iter(gh.sim.state.installations))
    with session_scope(gh.ctx.sessions) as db:
        row = db.scalars(select(m.GitHubInstallation).where(
            m.GitHubInstallation.installation_id == installation_id)).one()  # fmt: skip
        row.suspended = True
    assert reconcile_pass(gh.ctx).checks == []
    assert _link(gh).checked_at is None


def test_access_lost_with_its_delivery_missed_turns_the_link_inactive_until_given_back(
    gh: GitHubHarness,
) -> None:
    """The repository leaves the installation while the App's delivery saying so is lost: the
    reconciler finds out from GitHub and turns the link inactive; giving the repository back
    revives it, and the next pass deploys the head pushed meanwhile."""
    _, project_id = _project(gh)
    installation = next(iter(gh.sim.state.installations.values()))
    others = [
        r for r in gh.sim.state.installation_repos(installation) if r.id != gh.world.app_repo.id
    ]
    gh.sim.deliverer.faults.drop_next = 1  # the installation_repositories "removed" delivery
    gh.sim.set_installation_repos(installation, others)
    assert gh.sim.deliverer.wait_idle(120)
    assert _link(gh).active is True  # NanoScale was not told

    report = reconcile_pass(gh.ctx)
    assert [(c.project_id, c.result) for c in report.checks] == [(project_id, "access_lost")]
    link = _link(gh)
    assert (link.active, link.check_result) == (False, "access_lost")
    assert reconcile_pass(gh.ctx).checks == []  # inactive links are not checked

    sha = gh.sim.commit(gh.world.app_repo, "main", {"version.txt": "v9\n"}, message="v9")
    assert gh.sim.deliverer.wait_idle(120)  # ignored: the link is inactive
    assert sha not in [d.commit_sha for d in _deployments(gh, project_id)]
    gh.sim.set_installation_repos(installation, None)  # given back; this delivery arrives
    assert gh.sim.deliverer.wait_idle(120)
    assert _link(gh).active is True
    report = reconcile_pass(gh.ctx)
    assert [(c.result, c.head_sha) for c in report.checks] == [("deployed", sha)]


def test_a_repository_given_back_revives_no_link_whose_owner_lost_the_installation(
    gh: GitHubHarness,
) -> None:
    """The owner's own token no longer lists the installation (another GitHub account connected
    since, or removed from the organization): giving the repository back revives nothing."""
    _project(gh)
    installation = next(iter(gh.sim.state.installations.values()))
    others = [
        r for r in gh.sim.state.installation_repos(installation) if r.id != gh.world.app_repo.id
    ]
    gh.sim.set_installation_repos(installation, others)
    assert gh.sim.deliverer.wait_idle(120)
    assert _link(gh).active is False
    with session_scope(gh.ctx.sessions) as db:
        db.execute(delete(m.GitHubInstallationAccess))
    gh.sim.set_installation_repos(installation, None)
    assert gh.sim.deliverer.wait_idle(120)
    added = [d for d in gh.sim.state.deliveries if d.event == "installation_repositories"][-1]
    assert added.payload["action"] == "added" and added.status_code == 200
    assert _link(gh).active is False
