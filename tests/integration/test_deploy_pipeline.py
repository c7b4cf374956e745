"""The release pipeline end to end: real git over HTTP, real builds, real app processes."""

from __future__ import annotations

import re
from dataclasses import replace

import httpx
import pytest

from nanoscale.engine import fetch
from tests.support.deploy import APPS, PYTHON_APP, STATIC_APP, DeployHarness


def test_node_app_goes_live_serving_the_requested_commit(deploy: DeployHarness) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo, install_command="echo installing", build_command="echo built")
    deployment_id = deploy.request(project, sha, trigger="create")

    assert deploy.run_until_idle() == 1

    done = deploy.deployment(deployment_id)
    assert done.state == "live", deploy.log(deployment_id)
    assert done.commit_sha == sha
    assert None not in (done.fetching_at, done.building_at, done.starting_at, done.finished_at)
    assert deploy.serve(project) == f"v1 {sha}\n"
    log = deploy.log(deployment_id)
    assert "installing" in log and "built" in log
    # The start step's own timing (the push-to-serving benchmark reads it).
    assert re.search(r"release answered its health check \d+ ms after its start\n", log)
    assert "Git credentials ready" not in log  # a public repository needs none


def test_redeploy_to_a_new_commit_replaces_and_stops_the_old_release(deploy: DeployHarness) -> None:
    repo, first = deploy.repo("web")
    project = deploy.project(repo)
    first_id = deploy.request(project, first)
    deploy.run_until_idle()
    old_port = deploy.deployment(first_id).release_port

    second = repo.commit({"version.txt": "v2\n"})
    second_id = deploy.request(project, second)
    deploy.run_until_idle()

    assert deploy.deployment(second_id).state == "live"
    assert deploy.serve(project) == f"v2 {second}\n"
    assert deploy.deployment(first_id).release_stopped_at is not None
    assert deploy.deployment(second_id).release_port != old_port
    assert not _answers(old_port)


def test_failing_build_keeps_the_old_release_live(deploy: DeployHarness) -> None:
    repo, good = deploy.repo("web")
    project = deploy.project(repo, build_command="sh check.sh")
    repo.commit({"check.sh": "echo ok\n"})
    good = repo.head()
    deploy.request(project, good)
    deploy.run_until_idle()

    bad = repo.commit(
        {"check.sh": "echo 'compiling...'; echo 'syntax error on line 3' >&2; exit 7\n"}
    )
    bad_id = deploy.request(project, bad)
    deploy.run_until_idle()

    failed = deploy.deployment(bad_id)
    assert failed.state == "failed"
    assert failed.error_code == "build_failed"
    assert failed.error_responsibility == "user"
    assert "exit code 7" in (failed.error_message or "")
    assert "syntax error on line 3" in (failed.error_message or "")
    assert deploy.serve(project) == f"v1 {good}\n"


def test_app_that_never_listens_fails_health_check_and_old_release_serves(
    deploy: DeployHarness,
) -> None:
    repo, good = deploy.repo("web")
    project = deploy.project(repo)
    deploy.request(project, good)
    deploy.run_until_idle()

    broken = repo.commit(
        {"server.js": "console.log('forgot to listen'); setInterval(() => {}, 1000);\n"}
    )
    deploy.worker.pipeline.limits = replace(deploy.worker.pipeline.limits, health_timeout=2)
    broken_id = deploy.request(project, broken)
    deploy.run_until_idle()

    failed = deploy.deployment(broken_id)
    assert failed.state == "failed"
    assert failed.error_code == "health_check_failed"
    assert "forgot to listen" in deploy.log(broken_id)
    assert deploy.serve(project) == f"v1 {good}\n"


def test_python_app_receives_env_vars_and_port(deploy: DeployHarness) -> None:
    repo, sha = deploy.repo("py", "python")
    project = deploy.project(repo, env={"GREETING": "hello"}, **PYTHON_APP)
    repo.commit(
        {
            "app.py": (APPS / "python" / "app.py")
            .read_text()
            .replace("VERSION = ", "VERSION = os.environ['GREETING'] + ' ' + ")
        }
    )
    sha = repo.head()
    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()

    assert deploy.deployment(deployment_id).state == "live", deploy.log(deployment_id)
    assert deploy.serve(project) == f"hello v1 {sha}\n"


def test_static_site_is_built_and_served_without_a_process(deploy: DeployHarness) -> None:
    repo, sha = deploy.repo("site", "static")
    project = deploy.project(repo, start_command=None, **STATIC_APP)
    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()

    done = deploy.deployment(deployment_id)
    assert done.state == "live", deploy.log(deployment_id)
    assert done.release_ref == "static"
    url = deploy.url(project)
    assert url is not None
    assert f"v1 {sha}" in httpx.get(url, timeout=5).text
    assert deploy.status(project) == "live"


def _answers(port: int | None) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    except httpx.HTTPError:
        return False
    return True


def test_secret_env_value_printed_by_a_build_is_masked_in_log_and_error(
    deploy: DeployHarness,
) -> None:
    repo, sha = deploy.repo("web")
    secret = "tok-very-secret-123"
    project = deploy.project(
        repo,
        env={"API_TOKEN": secret, "DEBUG": "1"},
        build_command='echo "token=$API_TOKEN"; exit 1',
    )
    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()

    failed = deploy.deployment(deployment_id)
    assert failed.state == "failed"
    assert "token=***" in deploy.log(deployment_id)
    assert secret not in deploy.log(deployment_id)
    assert secret not in (failed.error_message or "")


def test_object_store_keeps_only_recent_deployed_commits(
    deploy: DeployHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "KEEP_REFS", 3)
    repo, _ = deploy.repo("web")
    project = deploy.project(repo)
    store = deploy.ctx.settings.data_dir.resolve() / "projects" / project.id / "store.git"
    for i in range(5):
        deploy.request(project, repo.commit({"version.txt": f"v{i}\n"}))
        deploy.run_until_idle()

    kept = {ref.name for ref in (store / "refs" / "nanoscale").iterdir()}
    assert len(kept) == 3
    assert repo.head() in kept


def test_deployment_records_the_commits_subject_line_and_author(deploy: DeployHarness) -> None:
    repo = deploy.git.create_repo("described")
    first = repo.commit_tree(APPS / "node", "Fix the checkout\n\nA body that is not the subject.")
    long_subject = "Long " + "x" * 400
    second = repo.commit({"version.txt": "v2\n"}, long_subject + "\nsecond line")
    project = deploy.project(repo)
    first_id = deploy.request(project, first)
    assert deploy.deployment(first_id).commit_message is None  # known only after the fetch
    deploy.run_until_idle()
    second_id = deploy.request(project, second)
    deploy.run_until_idle()

    described = deploy.deployment(first_id)
    assert (described.commit_message, described.commit_author) == ("Fix the checkout", "Test")
    truncated = deploy.deployment(second_id).commit_message
    assert truncated == long_subject[:200]


def test_an_app_that_exits_on_start_fails_with_its_exit_code(deploy: DeployHarness) -> None:
    repo, sha = deploy.repo("web")
    project = deploy.project(repo, start_command="echo 'missing DATABASE_URL' >&2; exit 3")
    deployment_id = deploy.request(project, sha)
    deploy.run_until_idle()

    failed = deploy.deployment(deployment_id)
    assert (failed.state, failed.error_code) == ("failed", "app_exited")
    assert "exited with code 3" in (failed.error_message or "")
