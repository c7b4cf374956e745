"""The live release's own output through `GET /api/projects/{id}/logs`: its latest lines as
text, followed over Server-Sent Events (also across a redeploy), and only for its owner. The
fixture app prints `request <path>` for every request it serves."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nanoscale.settings import Settings
from tests.support.deploy import APPS, deploy_settings_overrides
from tests.support.deploy_api import Api, open_api
from tests.support.git_server import GitServer

SSE = {"Accept": "text/event-stream"}


@pytest.fixture
def api(
    make_settings: Callable[..., Settings], git_server: GitServer, deploy_data_dir: Path
) -> Iterator[Api]:
    settings = make_settings(**deploy_settings_overrides(deploy_data_dir, git_server))
    with open_api(settings, git_server) as api:
        yield api


def _live_chatty_project(api: Api) -> dict[str, Any]:
    repo = api.deploy.git.create_repo("chatty")
    repo.commit_tree(APPS / "python", "Chatty app")
    created = api.create("chatty", repo.url, start_command="python3 chatty.py")
    api.deploy.run_until_idle()
    assert api.get(f"/api/deployments/{created['deployment_id']}")["state"] == "live"
    project: dict[str, Any] = api.get(f"/api/projects/{created['id']}")
    project["repo"] = repo
    return project


def _hit(project: dict[str, Any], path: str) -> None:
    """The app prints the request line before it answers, so it is in its output now."""
    assert httpx.get(f"{project['url']}{path}", timeout=5).status_code == 200


def test_project_logs_return_the_live_releases_latest_output_as_text(api: Api) -> None:
    project = _live_chatty_project(api)
    for i in range(3):
        _hit(project, f"/text-{i}")
    url = f"/api/projects/{project['id']}/logs"

    response = api.client.get(url, headers=api.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "chatty app on" in response.text
    assert "request /text-2" in response.text

    last_two = api.client.get(f"{url}?lines=2", headers=api.headers)
    assert last_two.text == "request /text-1\nrequest /text-2\n"
    for bad in ("lines=0", "lines=100000", "lines=many", "line=2", "lines=2&lines=5"):
        assert api.client.get(f"{url}?{bad}", headers=api.headers).status_code == 422, bad


def test_project_logs_stream_new_output_and_move_to_the_next_release(api: Api) -> None:
    project = _live_chatty_project(api)
    first_id = api.get(f"/api/projects/{project['id']}/deployments")[0]["id"]
    seen: list[str] = []
    worker: threading.Thread | None = None
    with api.client.stream(
        "GET", f"/api/projects/{project['id']}/logs", headers={**api.headers, **SSE}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            seen.append(line)
            if line.startswith("data: chatty app on") and worker is None:
                # Printed after the stream began: it can only arrive by following the file.
                _hit(project, "/while-streaming")
            if line == "data: request /while-streaming" and worker is None:
                project["repo"].commit({"version.txt": "v2\n"}, "Second release")
                api.post(f"/api/projects/{project['id']}/redeploy")
                worker = threading.Thread(target=api.deploy.run_until_idle)
                worker.start()
            if seen[-2:-1] == ["event: release"] and seen.count("event: release") == 2:
                break  # the second release's id
    assert worker is not None
    worker.join()

    assert seen[:2] == ["event: release", f"data: {first_id}"]
    assert "event: output" in seen
    second_id = api.get(f"/api/projects/{project['id']}/deployments")[0]["id"]
    assert second_id != first_id
    assert seen.index("data: request /while-streaming") < seen.index(f"data: {second_id}")


def test_project_logs_of_another_users_project_are_not_found(api: Api) -> None:
    project = _live_chatty_project(api)
    url = f"/api/projects/{project['id']}/logs"
    eve = api.second_user()

    assert api.client.get(url, headers=eve).status_code == 404
    assert api.client.get(url, headers={**eve, **SSE}).status_code == 404
    api.client.post("/api/auth/logout", headers=eve)
    assert api.client.get(url).status_code == 401
