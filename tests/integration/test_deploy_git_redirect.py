"""git never follows an HTTP redirect: the Authorization header configured for the allowed
repository URL must not travel to the host a redirect names (nor may a redirect bypass the
host allowlist). A redirector on one loopback port points at the git server on another."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nanoscale.engine.credentials import GitCredentials, HostCredentials
from nanoscale.engine.fetch import FetchContext, fetch_commit, resolve_ref
from nanoscale.errors import UserCodeError
from tests.support.git_server import GitServer

PASSWORD = "redirect-Secret-0123456"


def _redirector(target_port: int) -> ThreadingHTTPServer:
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{target_port}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            self.do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Redirect)


@pytest.fixture
def redirect_url(git_server: GitServer) -> Iterator[str]:
    server = _redirector(git_server.port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/app.git"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_ls_remote_and_fetch_refuse_redirects_and_never_send_the_credential_elsewhere(
    git_server: GitServer, redirect_url: str, tmp_path: Path
) -> None:
    repo = git_server.create_repo("app", private=True, username="bob", password=PASSWORD)
    sha = repo.commit({"a.txt": "hi\n"})
    creds = HostCredentials(redirect_url, GitCredentials("bob", PASSWORD))
    ctx = FetchContext(
        credentials=creds,
        modules_dir=tmp_path / "modules",
        url_allowed=lambda url: url.startswith(redirect_url.removesuffix("app.git")),
    )

    with pytest.raises(UserCodeError) as resolved:
        resolve_ref(url=redirect_url, ref="main", credentials=creds)
    with pytest.raises(UserCodeError) as fetched:
        fetch_commit(
            store=tmp_path / "store.git", url=redirect_url, sha=sha, dest=tmp_path / "out", ctx=ctx
        )

    for failure in (resolved.value, fetched.value):
        assert failure.code == "git_redirect_refused"
        assert "redirect" in failure.message
        assert PASSWORD not in failure.message
    assert git_server.requests == [], "the redirect target was contacted"
    assert not (tmp_path / "out").exists()
