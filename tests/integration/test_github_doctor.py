"""`nanoscale doctor` for GitHub against the simulator: all green when healthy, and each injected
fault (wrong key, skewed clock, missing permission, hook URL elsewhere, failed deliveries)
reported with the fix that cures it."""

from __future__ import annotations

import pytest

from nanoscale.github.doctor import Check, run_github_checks
from nanoscale.github.gateway import GitHubGateway
from nanoscale.settings import Settings
from tests.fakes.github import RecordingTransport
from tests.support.api import fast_password_hashing
from tests.support.cli import run_cli
from tests.support.github_app import GitHubHarness
from tests.support.github_env import nanoscale_environment

__all__ = ["fast_password_hashing"]
pytestmark = [
    pytest.mark.usefixtures("fast_password_hashing"),
    pytest.mark.github_harness(delivers=True),
]
WEBHOOK = "http://testserver/api/integrations/github/webhook"


@pytest.fixture(autouse=True)
def shop(gh: GitHubHarness) -> None:
    gh.create_shop()
    assert gh.sim.deliverer.wait_idle()


def _doctor(gh: GitHubHarness, settings: Settings | None = None) -> dict[str, Check]:
    """The checks as the CLI runs them: this host's own clock, GitHub's OpenAPI-checked."""
    from nanoscale.db.engine import session_scope
    from nanoscale.github.doctor import repository_hooks

    with session_scope(gh.ctx.sessions) as db:
        hooks = repository_hooks(db)
    gateway = GitHubGateway(settings or gh.settings, transport=RecordingTransport(gh.recorder))
    try:
        return {c.name: c for c in run_github_checks(gateway, hooks=hooks)}
    finally:
        gateway.close()


def _failed(checks: dict[str, Check]) -> dict[str, Check]:
    return {name: c for name, c in checks.items() if not c.ok}


def test_a_healthy_setup_is_all_green(gh: GitHubHarness) -> None:
    checks = _doctor(gh)
    assert _failed(checks) == {}
    assert set(checks) == {
        "github https", "github clock", "github app", "github permissions",
        "github status reporting", "github rate limit", "github app webhook", "github deliveries",
        "github hook octo-alice/app",
    }  # fmt: skip
    assert checks["github app"].detail == f"nanoscale (id {gh.world.app.id})"
    assert checks["github hook octo-alice/app"].detail.endswith(WEBHOOK)
    gh.recorder.assert_clean()


def test_a_key_of_another_app_is_named(gh: GitHubHarness) -> None:
    other = gh.sim.add_app(gh.world.bob, "someone-else")
    wrong = gh.settings.model_copy(
        update={"github_app_private_key_path": gh.sim.private_key_file(other)}
    )
    failed = _failed(_doctor(gh, wrong))
    assert set(failed) == {"github app"}
    assert "private key does not belong to this App" in failed["github app"].fix


def test_a_skewed_clock_is_named_before_the_key(gh: GitHubHarness) -> None:
    gh.sim.state.clock.advance(3600)  # GitHub's clock an hour ahead of this host's
    try:
        failed = _failed(_doctor(gh))
    finally:
        gh.sim.state.clock.advance(-3600)
    assert set(failed) == {"github clock", "github app"}
    assert "behind" in failed["github clock"].detail
    assert "NTP" in failed["github clock"].fix
    assert "fix the clock first" in failed["github app"].fix


def test_a_missing_permission_is_named(gh: GitHubHarness) -> None:
    del gh.world.app.permissions["repository_hooks"]
    gh.world.app.events.remove("repository")
    failed = _failed(_doctor(gh))
    assert set(failed) == {"github permissions"}
    assert "repository_hooks: write" in failed["github permissions"].detail
    assert "event repository" in failed["github permissions"].detail
    assert "Permissions & events" in failed["github permissions"].fix


def test_status_reporting_permissions_are_reported_as_information_not_failure(
    gh: GitHubHarness,
) -> None:
    assert "deployments" not in gh.world.app.permissions  # the harness App lacks both
    off = _doctor(gh)["github status reporting"]
    assert off.ok and off.detail.startswith("off: grant deployments: write")
    gh.world.app.permissions["statuses"] = "write"
    only = _doctor(gh)["github status reporting"]
    assert only.ok and only.detail.startswith("on: commit statuses only")
    gh.world.app.permissions["deployments"] = "write"
    assert _doctor(gh)["github status reporting"].detail == "on: GitHub Deployments with statuses"


def test_hook_urls_pointing_elsewhere_are_named_with_the_right_url(gh: GitHubHarness) -> None:
    gh.world.app.webhook_url = "https://old-host.example/api/integrations/github/webhook"
    hook = next(iter(gh.world.app_repo.hooks.values()))
    hook.url = "https://old-host.example/api/integrations/github/webhook"
    failed = _failed(_doctor(gh))
    assert set(failed) == {"github app webhook", "github hook octo-alice/app"}
    assert "old-host.example" in failed["github app webhook"].detail
    assert failed["github app webhook"].fix.count(WEBHOOK) == 1
    assert WEBHOOK in failed["github hook octo-alice/app"].fix


def test_failed_deliveries_are_counted_with_the_fix_for_their_status(gh: GitHubHarness) -> None:
    gh.world.app.webhook_secret = "not-the-secret-nanoscale-has"
    gh.sim.commit(gh.world.app_repo, "main", {"version.txt": "v2\n"}, message="v2")
    assert gh.sim.deliverer.wait_idle()
    failed = _failed(_doctor(gh))
    assert set(failed) == {"github deliveries"}
    assert "(1 x 401)" in failed["github deliveries"].detail
    assert "NANOSCALE_GITHUB_WEBHOOK_SECRET" in failed["github deliveries"].fix

    gh.sim.deliverer.faults.drop_next = 2  # GitHub could not connect at all
    gh.sim.commit(gh.world.app_repo, "main", {"version.txt": "v3\n"}, message="v3")
    assert gh.sim.deliverer.wait_idle()
    failed = _failed(_doctor(gh))
    assert "no answer" in failed["github deliveries"].detail


def test_nanoscale_doctor_prints_the_github_checks(
    gh: GitHubHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in nanoscale_environment(gh.settings).items():
        monkeypatch.setenv(name, value)
    output = run_cli("doctor").output
    for check in ("github clock", "github app", "github permissions", "github deliveries",
                  "github hook octo-alice/app"):  # fmt: skip
        assert f"ok    {check}: " in output, output
