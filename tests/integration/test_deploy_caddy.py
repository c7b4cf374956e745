"""Deployments behind a real Caddy: reachable by host name, and redeploys under continuous
HTTP load through Caddy fail no request."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from nanoscale.deployments.worker import loop as worker_module
from nanoscale.settings import Settings
from tests.support.caddy import CaddyInstance
from tests.support.caddy_load import LoadLoop
from tests.support.deploy import (
    STATIC_APP,
    DeployHarness,
    deploy_harness,
    deploy_settings_overrides,
)
from tests.support.git_server import GitServer

pytestmark = pytest.mark.caddy


@pytest.fixture
def deploy_caddy(
    make_settings: Callable[..., Settings],
    git_server: GitServer,
    deploy_data_dir: Path,
    caddy: CaddyInstance,
) -> Iterator[DeployHarness]:
    overrides = {
        **deploy_settings_overrides(deploy_data_dir, git_server),
        **caddy.settings_overrides(),
        "drain_seconds": 0.5,  # a loaded 2-core CI box needs more than the harness's 0.2 s
    }
    settings = make_settings(**overrides)
    with deploy_harness(settings, git_server) as harness:
        yield harness


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_created_project_is_live_through_caddy_by_host_name(
    deploy_caddy: DeployHarness, caddy: CaddyInstance
) -> None:
    repo, sha = deploy_caddy.repo("blog")
    project = deploy_caddy.project(repo, name="blog")
    deploy_caddy.request(project, sha, trigger="create")
    deploy_caddy.run_until_idle()

    assert caddy.get("blog.localhost").text == f"v1 {sha}\n"
    assert deploy_caddy.url(project) == f"http://blog.localhost:{caddy.http_port}"
    assert sha not in caddy.get("other.localhost").text  # routed by host name only


def test_static_site_is_served_by_caddy_from_the_release(
    deploy_caddy: DeployHarness, caddy: CaddyInstance
) -> None:
    repo, sha = deploy_caddy.repo("docs", "static")
    project = deploy_caddy.project(repo, name="docs", start_command=None, **STATIC_APP)
    deploy_caddy.request(project, sha)
    deploy_caddy.run_until_idle()

    page = caddy.get("docs.localhost", "/index.html")
    assert page.status_code == 200
    assert f"v1 {sha}" in page.text


def test_redeploys_under_load_through_caddy_fail_no_request(
    deploy_caddy: DeployHarness, caddy: CaddyInstance
) -> None:
    repo, sha = deploy_caddy.repo("shop")
    project = deploy_caddy.project(repo, name="shop")
    deploy_caddy.request(project, sha)
    deploy_caddy.run_until_idle()

    with LoadLoop(caddy.http_port, "shop.localhost", clients=2) as load:
        _wait_for(lambda: load.seen()["v1"] > 20)
        for version in ("v2", "v3", "v4"):
            new = repo.commit({"version.txt": f"{version}\n"})
            deploy_caddy.request(project, new)
            deploy_caddy.run_until_idle()
            _wait_for(lambda version=version: load.seen()[version] > 20)  # type: ignore[misc]
        result = load.stop()

    assert result.failures == []
    assert result.requests > 100
    assert caddy.get("shop.localhost").text.startswith("v4 ")


def test_routes_come_back_after_caddy_restarts(
    deploy_caddy: DeployHarness, caddy: CaddyInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "RECOVER_EVERY_SECONDS", 0.2)
    repo, sha = deploy_caddy.repo("blog")
    project = deploy_caddy.project(repo, name="blog")
    deploy_caddy.worker.start()
    try:
        deploy_caddy.request(project, sha)
        _wait_for(lambda: sha in caddy.get("blog.localhost").text)
        caddy.restart()  # Caddy keeps no config: NanoScale's server and routes are gone
        _wait_for(lambda: _serves(caddy, "blog.localhost", sha))
    finally:
        deploy_caddy.worker.stop()


def _serves(caddy: CaddyInstance, host: str, text: str) -> bool:
    try:
        return text in caddy.get(host).text
    except httpx.HTTPError:
        return False


def test_redeploy_while_caddy_is_down_fails_and_repair_restores_the_old_release(
    deploy_caddy: DeployHarness, caddy: CaddyInstance
) -> None:
    repo, v1 = deploy_caddy.repo("down")
    project = deploy_caddy.project(repo, name="down")
    first = deploy_caddy.request(project, v1)
    deploy_caddy.run_until_idle()
    assert caddy.get("down.localhost").text == f"v1 {v1}\n"
    v2 = repo.commit({"version.txt": "v2\n"})

    caddy.stop()
    second = deploy_caddy.request(project, v2)
    deploy_caddy.run_until_idle()
    failed = deploy_caddy.deployment(second)
    assert (failed.state, failed.error_code) == ("failed", "proxy_unreachable")
    caddy.start()

    assert deploy_caddy.worker.backends.proxy.ensure_config() is True
    served = caddy.get("down.localhost")
    assert (served.status_code, served.text) == (200, f"v1 {v1}\n")
    live = deploy_caddy.live(project)
    assert live is not None and live.id == first


def test_static_site_linking_to_a_host_file_fails_and_caddy_never_serves_it(
    deploy_caddy: DeployHarness, caddy: CaddyInstance
) -> None:
    repo, good = deploy_caddy.repo("leaky", "static")
    project = deploy_caddy.project(repo, name="leaky", start_command=None, **STATIC_APP)
    deploy_caddy.request(project, good)
    deploy_caddy.run_until_idle()
    leaky = repo.commit(
        {
            "build.sh": "mkdir -p dist; echo hi > dist/index.html; "
            "ln -s index.html dist/alias.html; ln -s /etc/passwd dist/passwd.txt\n"
        }
    )

    deployment_id = deploy_caddy.request(project, leaky)
    deploy_caddy.run_until_idle()

    failed = deploy_caddy.deployment(deployment_id)
    assert (failed.state, failed.error_code) == ("failed", "static_symlink_outside")
    assert failed.error_responsibility == "user"
    assert "passwd.txt" in (failed.error_message or "")
    leaked = caddy.get("leaky.localhost", "/passwd.txt")
    assert leaked.status_code == 404 and "root:" not in leaked.text
    assert f"v1 {good}" in caddy.get("leaky.localhost", "/index.html").text


def test_static_site_may_link_inside_its_output_directory(
    deploy_caddy: DeployHarness, caddy: CaddyInstance
) -> None:
    repo, _ = deploy_caddy.repo("linked", "static")
    sha = repo.commit(
        {"build.sh": "mkdir -p dist; echo hi > dist/index.html; ln -s index.html dist/alias.html\n"}
    )
    project = deploy_caddy.project(repo, name="linked", start_command=None, **STATIC_APP)
    deployment_id = deploy_caddy.request(project, sha)
    deploy_caddy.run_until_idle()

    assert deploy_caddy.deployment(deployment_id).state == "live"
    assert caddy.get("linked.localhost", "/alias.html").text == "hi\n"
