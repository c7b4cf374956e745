"""The gateway's fault handling against the served simulator: transient 5xx retried, a hung
GitHub times out into a clear 503, the App JWT tolerates clock skew within GitHub's margin and
reports a refused JWT as a configuration/clock problem; unknown credential providers fail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from nanoscale.deployments.credentials import project_credentials
from nanoscale.errors import PlatformError
from nanoscale.github.errors import GitHubAuthFailed, GitHubUnavailable
from nanoscale.github.gateway import GitHubGateway
from nanoscale.projects.models import Project
from nanoscale.settings import Settings
from tests.fakes.github import RecordingTransport, SpecRecorder
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.support.github_app import GitHubHarness, github_harness


@pytest.fixture
def gh(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
) -> Iterator[GitHubHarness]:
    with github_harness(
        make_settings, github_sim, github_served, database_url=sqlite_url, gateway_timeout=2.0
    ) as harness:
        yield harness
        harness.recorder.assert_clean()


def _mint(gateway: GitHubGateway, gh: GitHubHarness) -> str:
    installation = gh.sim.install(gh.world.app, gh.world.alice)
    return gateway.installation_token(
        installation.id, repo_ids=[gh.world.app_repo.id], permissions={"contents": "read"}
    )


def test_transient_server_errors_are_retried(gh: GitHubHarness) -> None:
    gh.sim.faults.add(r"/access_tokens$", status=502, times=2)
    token = _mint(gh.gateway, gh)
    assert token in gh.sim.state.installation_tokens
    assert gh.gateway.calls == 3


def test_a_hung_github_becomes_a_clear_unavailable_error(gh: GitHubHarness) -> None:
    gh.sim.faults.add(r"/access_tokens$", hang=4, times=3)
    with pytest.raises(GitHubUnavailable) as err:
        _mint(gh.gateway, gh)
    assert err.value.status == 503
    assert err.value.code == "github_unavailable"


def test_app_jwt_survives_clock_skew_and_reports_a_bad_clock(gh: GitHubHarness) -> None:
    now = gh.sim.state.clock.now
    recorder = SpecRecorder(check_requests=True, in_summary=False)
    ahead = GitHubGateway(
        gh.settings, clock=lambda: now() + _seconds(50), transport=RecordingTransport(recorder)
    )
    assert _mint(ahead, gh)  # our clock 50 s fast: still accepted (iat is backdated)
    recorder.assert_clean()
    far = GitHubGateway(gh.settings, clock=lambda: now() + _seconds(3600))
    with pytest.raises(GitHubAuthFailed) as err:
        _mint(far, gh)
    assert err.value.code == "github_app_auth_failed"
    assert "clock" in err.value.message
    ahead.close()
    far.close()


def _seconds(n: int) -> timedelta:
    return timedelta(seconds=n)


def test_unknown_credential_provider_is_an_error(gh: GitHubHarness) -> None:
    project = Project(id="p", name="p", repo_url="https://x.example/r.git", source_provider="svn")
    with pytest.raises(PlatformError) as err:
        project_credentials(project, ctx=gh.ctx)
    assert err.value.code == "credential_source_unknown"
