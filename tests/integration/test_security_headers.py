"""Every response forbids framing and content sniffing; everything but static assets is
`no-store`. Checked on pages, JSON, a deployment's plain-text and SSE logs (a real failed
build), errors answered by middleware before routing, and the static files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from nanoscale.settings import Settings
from tests.support.deploy import APPS, deploy_settings_overrides
from tests.support.deploy_api import Api, open_api
from tests.support.git_server import GitServer


@pytest.fixture
def api(
    make_settings: Callable[..., Settings], git_server: GitServer, deploy_data_dir: Path
) -> Iterator[Api]:
    settings = make_settings(**deploy_settings_overrides(deploy_data_dir, git_server))
    with open_api(settings, git_server) as api:
        yield api


def _assert_never_framed_or_sniffed(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    assert response.headers.get("x-frame-options") == "DENY", where
    csp = response.headers.get("content-security-policy", "")
    assert csp.split("; ")[0] == "frame-ancestors 'none'", where
    assert response.headers.get("x-content-type-options") == "nosniff", where


def _assert_private(response: httpx.Response) -> None:
    _assert_never_framed_or_sniffed(response)
    assert response.headers.get("cache-control") == "no-store", response.request.url.path


def test_every_kind_of_response_forbids_framing_and_sniffing(api: Api) -> None:
    repo = api.deploy.git.create_repo("shop")
    repo.commit_tree(APPS / "node", "v1")
    created = api.create("shop", repo.url, build_command="echo '<script>x</script>'; exit 3")
    api.deploy.run_until_idle()
    client, headers = api.client, api.headers
    deployment_path = f"/projects/{created['id']}/deployments/{created['deployment_id']}"
    log_path = f"/api/deployments/{created['deployment_id']}/logs"

    text_log = client.get(log_path, headers=headers)
    assert text_log.headers["content-type"].startswith("text/plain")
    assert "<script>" in text_log.text  # served as text, and the browser must not sniff it
    sse_log = client.get(log_path, headers={**headers, "Accept": "text/event-stream"})
    assert sse_log.headers["content-type"].startswith("text/event-stream")
    private = [
        text_log,
        sse_log,
        client.get("/", headers=headers),
        client.get(f"/projects/{created['id']}", headers=headers),
        client.get(deployment_path, headers=headers),
        client.get("/api/auth/session", headers=headers),
        client.get(f"/api/projects/{created['id']}", headers=headers),
        client.get("/projects/no-such-project", headers=headers),  # 404 page
        client.get("/", headers={"Host": "rebind.attacker.example"}),  # refused before routing
        client.post("/api/projects", content=b"x" * (2 << 20), headers=headers),  # 413
    ]
    assert [r.status_code for r in private[-3:]] == [404, 400, 413]
    client.post("/api/auth/logout", headers=headers)
    private += [client.get("/login"), client.get("/")]
    for response in private:
        _assert_private(response)

    static = client.get("/static/app.css")
    assert static.status_code == 200
    _assert_never_framed_or_sniffed(static)
    assert static.headers.get("cache-control") != "no-store"
