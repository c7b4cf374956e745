"""Open log streams (SSE) end when the credential that opened them ends: the browser session
on logout and on expiry, an API token on revocation. Real uvicorn, a real build that keeps
running, a project with nothing live."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from nanoscale.accounts.models import AuthSession
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.settings import Settings
from tests.support.api import ADMIN, login
from tests.support.deploy import APPS, deploy_settings_overrides
from tests.support.deploy_api import Api, open_api, wait_for
from tests.support.git_server import GitServer
from tests.support.live_server import live_server
from tests.support.ports import free_port

STREAM_END_BOUND_SECONDS = 30  # a readiness bound, not a speed assertion


@pytest.fixture
def api(
    make_settings: Callable[..., Settings], git_server: GitServer, deploy_data_dir: Path
) -> Iterator[Api]:
    overrides = deploy_settings_overrides(deploy_data_dir, git_server)
    settings = make_settings(port=free_port(), **overrides)
    with open_api(settings, git_server) as api:
        yield api


class Stream:
    """Reads an SSE response in a thread; `ended` is set when the server closes it."""

    def __init__(self, client: httpx.Client, path: str) -> None:
        self.lines: list[str] = []
        self.ended = threading.Event()
        self.opened = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(client, path), daemon=True)
        self._thread.start()

    def _read(self, client: httpx.Client, path: str) -> None:
        headers = {"Accept": "text/event-stream"}
        with client.stream("GET", path, headers=headers) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                self.lines.append(line)
                if line.startswith("event:"):
                    self.opened.set()
        self.ended.set()


def _credentials(api: Api, how: str) -> dict[str, Any]:
    """httpx.Client arguments for the streaming client: the admin's browser session, or an
    API token of theirs."""
    if how != "token revoked":
        return {"cookies": dict(api.client.cookies)}
    created = api.client.post("/api/tokens", json={"name": "tail"}, headers=api.headers).json()
    return {"headers": {"Authorization": f"Bearer {created['token']}"}, "token_id": created["id"]}


def _end(how: str, client: httpx.Client, api: Api, token_id: str | None) -> None:
    if how == "logout":
        csrf = client.get("/api/auth/session").json()["csrf_token"]
        assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    elif how == "expiry":
        with session_scope(api.deploy.ctx.sessions) as db:
            db.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    else:
        revoked = api.client.delete(f"/api/tokens/{token_id}", headers=api.headers)
        assert revoked.status_code == 204, revoked.text


@pytest.mark.parametrize("how", ["logout", "expiry", "token revoked"])
@pytest.mark.parametrize("which", ["release output", "build log"])
def test_an_open_log_stream_ends_when_its_session_or_token_ends(
    api: Api, which: str, how: str
) -> None:
    repo = api.deploy.git.create_repo("shop")
    repo.commit_tree(APPS / "node", "v1")
    keeps_building = which == "build log"
    build = "echo building; sleep 120" if keeps_building else "exit 3"
    created: dict[str, Any] = api.create("shop", repo.url, build_command=build)
    worker = threading.Thread(target=api.deploy.run_until_idle)
    worker.start()
    if not keeps_building:
        worker.join()
    path = (
        f"/api/deployments/{created['deployment_id']}/logs"
        if keeps_building
        else f"/api/projects/{created['id']}/logs"
    )
    try:
        credentials = _credentials(api, how)
        token_id = credentials.pop("token_id", None)
        with (
            live_server(api.deploy.ctx) as url,
            httpx.Client(base_url=url, timeout=60, **credentials) as client,
        ):
            stream = Stream(client, path)
            wait_for(stream.opened.is_set)
            assert not stream.ended.wait(1)  # open while the session lasts

            _end(how, client, api, token_id)

            assert stream.ended.wait(STREAM_END_BOUND_SECONDS), "the stream outlived the session"
            assert client.get("/api/auth/session").status_code == 401
    finally:
        if keeps_building:
            api.client.cookies.clear()
            headers = login(api.client, *ADMIN)
            cancel = f"/api/deployments/{created['deployment_id']}/cancel"
            assert api.client.post(cancel, headers=headers).status_code == 200
        worker.join(60)
