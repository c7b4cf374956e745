"""`nanoscale deploy` goes through the one deployment entry point, like the API does."""

from __future__ import annotations

import pytest

from tests.support.cli import run_cli
from tests.support.deploy import DeployHarness


@pytest.fixture
def cli_env(deploy: DeployHarness, monkeypatch: pytest.MonkeyPatch) -> DeployHarness:
    settings = deploy.ctx.settings
    monkeypatch.setenv("NANOSCALE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("NANOSCALE_DATABASE_URL", settings.resolved_database_url)
    assert settings.secret_key is not None
    monkeypatch.setenv("NANOSCALE_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("NANOSCALE_GIT_ALLOWED_HOSTS", ",".join(settings.git_allowed_hosts))
    return deploy


def test_cli_deploy_of_an_exact_commit_is_built_by_the_worker(cli_env: DeployHarness) -> None:
    repo, first = cli_env.repo("cli-web")
    project = cli_env.project(repo)
    second = repo.commit({"version.txt": "v2\n"})

    result = run_cli("deploy", project.name, "--commit", second)

    assert result.exit_code == 0, result.output
    assert cli_env.run_until_idle() == 1
    [deployment] = cli_env.deployments(project)
    assert deployment.trigger == "manual"
    assert deployment.commit_sha == second != first
    assert deployment.state == "live", cli_env.log(deployment.id)
    assert deployment.id in result.output
    assert cli_env.serve(project) == f"v2 {second}\n"
    listed = run_cli("deployments", project.name)
    assert listed.output.startswith(f"{deployment.id}\tlive\tmanual\t{second[:12]}")


def test_cli_deploy_without_commit_resolves_the_branch_head(cli_env: DeployHarness) -> None:
    repo, head = cli_env.repo("cli-head")
    project = cli_env.project(repo)

    assert run_cli("deploy", project.name).exit_code == 0
    cli_env.run_until_idle()

    [deployment] = cli_env.deployments(project)
    assert deployment.commit_sha == head


def test_cli_deploy_of_an_unknown_project_fails_and_queues_nothing(
    cli_env: DeployHarness,
) -> None:
    repo, _ = cli_env.repo("cli-known")
    project = cli_env.project(repo)

    result = run_cli("deploy", "no-such-project")

    assert result.exit_code == 1
    assert "no project named" in result.output
    assert cli_env.deployments(project) == []
