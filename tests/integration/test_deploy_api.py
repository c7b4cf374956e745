"""The deployment API end to end: project creation deploys, redeploy, logs (plain and SSE),
cancel, rollback and delete, against a real git server and real app processes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nanoscale.db.engine import session_scope
from nanoscale.deployments.queue import lease
from nanoscale.engine.runtime import procfs
from nanoscale.engine.runtime.users import lookup, project_user_name
from nanoscale.settings import Settings
from tests.support.deploy import APPS, deploy_settings_overrides
from tests.support.deploy_api import Api, open_api, wait_for
from tests.support.git_server import GitServer


@pytest.fixture
def api(
    make_settings: Callable[..., Settings], git_server: GitServer, deploy_data_dir: Path
) -> Iterator[Api]:
    settings = make_settings(**deploy_settings_overrides(deploy_data_dir, git_server))
    with open_api(settings, git_server) as api:
        yield api


def _app_repo(api: Api, name: str, **kw: Any) -> tuple[Any, str]:
    repo = api.deploy.git.create_repo(name, **kw)
    sha = repo.commit_tree(APPS / "node", "v1")
    return repo, sha


def test_created_project_deploys_its_branch_head_and_reports_live_with_url(api: Api) -> None:
    repo, sha = _app_repo(api, "shop")
    created = api.create("shop", repo.url)
    assert created["status"] == "building"

    api.deploy.run_until_idle()

    deployment = api.get(f"/api/deployments/{created['deployment_id']}")
    assert deployment["state"] == "live"
    assert deployment["commit_sha"] == sha
    assert deployment["trigger"] == "create"
    assert deployment["error"] is None
    assert deployment["correlation"]["user_id"] == created["owner_id"]
    project = api.get(f"/api/projects/{created['id']}")
    assert project["status"] == "live"
    assert httpx.get(project["url"], timeout=5).text == f"v1 {sha}\n"


def test_redeploy_without_sha_builds_the_new_head_and_lists_history(api: Api) -> None:
    repo, first = _app_repo(api, "shop")
    project = api.create("shop", repo.url)
    api.deploy.run_until_idle()
    second = repo.commit({"version.txt": "v2\n"})

    requested = api.post(f"/api/projects/{project['id']}/redeploy")
    api.deploy.run_until_idle()
    assert api.get(f"/api/deployments/{requested['deployment_id']}")["commit_sha"] == second

    history = api.get(f"/api/projects/{project['id']}/deployments")
    assert [d["commit_sha"] for d in history] == [second, first]
    assert [d["trigger"] for d in history] == ["manual", "create"]
    url = api.get(f"/api/projects/{project['id']}")["url"]
    assert httpx.get(url, timeout=5).text == f"v2 {second}\n"


def test_deployment_json_carries_the_commit_message_from_git_never_from_the_request(
    api: Api,
) -> None:
    repo, _ = _app_repo(api, "shop")
    project = api.create("shop", repo.url)
    api.deploy.run_until_idle()
    second = repo.commit({"version.txt": "v2\n"}, "Ship version two\n\nWith a body.")

    spoofed = {"commit_sha": second, "commit_message": "spoofed", "commit_author": "mallory"}
    requested = api.post(f"/api/projects/{project['id']}/redeploy", spoofed)
    queued = requested["deployment"]
    assert queued["commit_message"] is None  # unknown until the commit is fetched
    assert queued["commit_author"] is None
    api.deploy.run_until_idle()

    deployment = api.get(f"/api/deployments/{requested['deployment_id']}")
    assert deployment["commit_message"] == "Ship version two"
    assert deployment["commit_author"] == "Test"
    first = api.get(f"/api/deployments/{project['deployment_id']}")
    assert first["commit_message"] == "v1"


def test_failed_build_reports_user_error_and_log_as_plain_text(api: Api) -> None:
    repo, _ = _app_repo(api, "shop")
    created = api.create("shop", repo.url, build_command="echo 'npm ERR! missing script'; exit 3")
    api.deploy.run_until_idle()

    deployment = api.get(f"/api/deployments/{created['deployment_id']}")
    assert deployment["state"] == "failed"
    assert deployment["error"]["code"] == "build_failed"
    assert deployment["error"]["responsibility"] == "user"
    log = api.client.get(f"/api/deployments/{created['deployment_id']}/logs", headers=api.headers)
    assert log.headers["content-type"].startswith("text/plain")
    assert "npm ERR! missing script" in log.text
    assert api.get(f"/api/projects/{created['id']}")["status"] == "failed"


def test_log_streams_as_server_sent_events_while_the_build_runs(api: Api) -> None:
    repo, _ = _app_repo(api, "shop")
    created = api.create("shop", repo.url, build_command="echo step-one; sleep 1; echo step-two")
    worker = threading.Thread(target=api.deploy.run_until_idle)
    worker.start()
    events: list[str] = []
    with api.client.stream(
        "GET",
        f"/api/deployments/{created['deployment_id']}/logs",
        headers={**api.headers, "Accept": "text/event-stream"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            events.append(line)
    worker.join()

    text = "\n".join(events)
    assert "event: log" in text
    assert text.index("data: step-one") < text.index("data: step-two")
    assert text.rstrip().endswith("event: end\ndata: live")


def test_cancel_kills_the_whole_build_process_group_and_releases_the_lease(api: Api) -> None:
    repo, _ = _app_repo(api, "shop")
    created = api.create("shop", repo.url, build_command="sleep 60 & sleep 60; echo never")
    deployment_id = created["deployment_id"]
    worker = threading.Thread(target=api.deploy.run_until_idle)
    worker.start()
    wait_for(lambda: api.deploy.deployment(deployment_id).build_pgid is not None)
    pgid = api.deploy.deployment(deployment_id).build_pgid
    assert pgid is not None and len(procfs.group_pids(pgid)) >= 2

    api.post(f"/api/deployments/{deployment_id}/cancel", status=200)
    worker.join(30)

    assert api.get(f"/api/deployments/{deployment_id}")["state"] == "cancelled"
    assert procfs.group_pids(pgid) == []
    with session_scope(api.deploy.ctx.sessions) as session:
        assert lease.current(session, created["id"]) is None
    again = api.client.post(f"/api/deployments/{deployment_id}/cancel", headers=api.headers)
    assert again.status_code == 409


def test_rollback_serves_the_earlier_commit_again(api: Api) -> None:
    repo, first = _app_repo(api, "shop")
    project = api.create("shop", repo.url)
    api.deploy.run_until_idle()
    repo.commit({"version.txt": "v2\n"})
    api.post(f"/api/projects/{project['id']}/redeploy")
    api.deploy.run_until_idle()

    rolled = api.post(
        f"/api/projects/{project['id']}/rollback", {"deployment_id": project["deployment_id"]}
    )
    api.deploy.run_until_idle()

    deployment = api.get(f"/api/deployments/{rolled['deployment_id']}")
    assert (deployment["trigger"], deployment["commit_sha"]) == ("rollback", first)
    assert deployment["correlation"]["rollback_of"] == project["deployment_id"]
    url = api.get(f"/api/projects/{project['id']}")["url"]
    assert httpx.get(url, timeout=5).text == f"v1 {first}\n"


def test_delete_stops_releases_and_removes_files_and_user(api: Api) -> None:
    repo, _ = _app_repo(api, "shop")
    project = api.create("shop", repo.url)
    api.deploy.run_until_idle()
    live = api.get(f"/api/deployments/{project['deployment_id']}")
    assert live["state"] == "live"
    assert procfs.marked_pids(live["id"])
    project_dir = api.deploy.ctx.settings.data_dir.resolve() / "projects" / project["id"]
    assert project_dir.exists()

    response = api.client.delete(f"/api/projects/{project['id']}", headers=api.headers)
    assert response.status_code == 204, response.text

    assert procfs.marked_pids(live["id"]) == []
    assert not project_dir.exists()
    assert lookup(project_user_name(project["name"], project["id"])) is None
    assert api.client.get(f"/api/deployments/{live['id']}", headers=api.headers).status_code == 404


def test_deployments_of_another_users_project_are_not_found(api: Api) -> None:
    repo, _ = _app_repo(api, "shop")
    project = api.create("shop", repo.url)
    eve = api.second_user()

    assert (
        api.client.get(f"/api/deployments/{project['deployment_id']}", headers=eve).status_code
        == 404
    )
    assert (
        api.client.post(f"/api/projects/{project['id']}/redeploy", headers=eve).status_code == 404
    )


def test_redeploy_refuses_a_body_that_is_not_an_object_and_queues_nothing(api: Api) -> None:
    repo, _sha = _app_repo(api, "strict")
    project = api.create("strict", repo.url)
    path = f"/api/projects/{project['id']}/redeploy"
    before = len(api.get(f"/api/projects/{project['id']}/deployments"))
    for content, media in ((b"null", "application/json"), (b"commit_sha=x", "text/plain")):
        headers = {**api.headers, "Content-Type": media}
        response = api.client.post(path, content=content, headers=headers)
        assert response.status_code == 422, response.text
    assert len(api.get(f"/api/projects/{project['id']}/deployments")) == before
