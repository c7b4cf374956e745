"""Git smart HTTP on loopback: `git http-backend` behind a small WSGI app in a server thread.

Repositories live under a temp root. A private repository requires HTTP Basic auth with the
username/password given at creation. Request bodies are buffered (wsgiref does not de-chunk the
chunked POSTs git sends above 1 MiB) and the CGI output is relayed. `bytes_sent` counts response
bytes per repository so benchmarks can compare fetch sizes.

    with GitServer(tmp_path) as server:
        repo = server.create_repo("app", private=True, username="u", password="p")
        sha = repo.commit({"server.js": "..."}, "first")
        repo.url  # http://127.0.0.1:PORT/app.git
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def git(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, input: bytes | None = None
) -> str:
    full_env = {**os.environ, **GIT_ENV, "HOME": str(cwd), **(env or {})}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=full_env, input=input, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode().strip()


@dataclass
class Repo:
    name: str
    work: Path
    url: str
    username: str | None = None
    password: str | None = None

    def commit(self, files: Mapping[str, str | bytes | None], message: str = "change") -> str:
        """Write (or delete, for None) files, commit everything, return the new SHA."""
        for rel, content in files.items():
            path = self.work / rel
            if content is None:
                git("rm", "-q", "--cached", "--ignore-unmatch", "--", rel, cwd=self.work)
                path.unlink(missing_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
            git("add", "--", rel, cwd=self.work)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.work)
        return self.head()

    def commit_tree(
        self, source: Path, message: str = "app", extra: Mapping[str, str] | None = None
    ) -> str:
        """Copy a fixture directory into the repository (plus extra files) and commit."""
        files: dict[str, str | bytes | None] = {}
        for path in sorted(source.rglob("*")):
            if path.is_file():
                files[str(path.relative_to(source))] = path.read_bytes()
        files.update(extra or {})
        return self.commit(files, message)

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work)

    def add_submodule(self, sub: Repo, path: str, message: str = "add submodule") -> str:
        """Record `sub` (at its HEAD) as a submodule at `path`, with its URL in .gitmodules."""
        gitmodules = self.work / ".gitmodules"
        text = gitmodules.read_text() if gitmodules.exists() else ""
        text += f'[submodule "{path}"]\n\tpath = {path}\n\turl = {sub.url}\n'
        gitmodules.write_text(text)
        git("update-index", "--add", "--cacheinfo", f"160000,{sub.head()},{path}", cwd=self.work)
        git("add", ".gitmodules", cwd=self.work)
        git("commit", "-q", "-m", message, cwd=self.work)
        return self.head()


@dataclass
class _State:
    root: Path
    private: dict[str, tuple[str, str]] = field(default_factory=dict)
    bytes_sent: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[str, str, bool]] = field(default_factory=list)  # (repo, path, authed)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay_seconds: float = 0.0  # slows every response (to observe clients mid-fetch)


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(stream.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while stream.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(stream.read(size))
            stream.readline()
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return stream.read(length) if length else b""


def _authorized(environ: dict[str, Any], expected: tuple[str, str] | None) -> bool:
    if expected is None:
        return True
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return False
    return (user, password) == expected


def _make_app(state: _State) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        repo = path.lstrip("/").split("/", 1)[0].removesuffix(".git")
        expected = state.private.get(repo)
        authed = _authorized(environ, expected)
        with state.lock:
            state.requests.append((repo, path, bool(environ.get("HTTP_AUTHORIZATION"))))
        if not authed:
            start_response(
                "401 Unauthorized",
                [("WWW-Authenticate", 'Basic realm="git"'), ("Content-Length", "0")],
            )
            return [b""]
        body = _read_body(environ)
        time.sleep(state.delay_seconds)
        cgi_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(state.root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": str(state.root / "srv"),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "REQUEST_METHOD": environ["REQUEST_METHOD"],
            "QUERY_STRING": environ.get("QUERY_STRING", ""),
            "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "git" if expected else "",
            "REMOTE_ADDR": environ.get("REMOTE_ADDR", "127.0.0.1"),
            "GIT_PROTOCOL": environ.get("HTTP_GIT_PROTOCOL", ""),
            "HTTP_CONTENT_ENCODING": environ.get("HTTP_CONTENT_ENCODING", ""),
        }
        done = subprocess.run(
            ["git", "http-backend"], env=cgi_env, input=body, capture_output=True, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = done.stdout.partition(b"\n\n")
        status = "200 OK"
        headers = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = value.strip()
            elif name:
                headers.append((name.strip(), value.strip()))
        headers.append(("Content-Length", str(len(payload))))
        with state.lock:
            state.bytes_sent[repo] += len(payload)
        start_response(status, headers)
        return [payload]

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class GitServer:
    def __init__(self, root: Path) -> None:
        self._state = _State(root=root)
        (root / "srv").mkdir(parents=True, exist_ok=True)
        (root / "work").mkdir(parents=True, exist_ok=True)
        self._server = make_server(
            "127.0.0.1", 0, _make_app(self._state), _ThreadingServer, _QuietHandler
        )
        self.port = int(self._server.server_address[1])
        self.host = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> GitServer:
        self._thread.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def set_delay(self, seconds: float) -> None:
        self._state.delay_seconds = seconds

    @property
    def bytes_sent(self) -> Counter[str]:
        return self._state.bytes_sent

    @property
    def requests(self) -> list[tuple[str, str, bool]]:
        return self._state.requests

    def create_repo(
        self,
        name: str,
        *,
        private: bool = False,
        username: str = "x-access-token",
        password: str = "",
    ) -> Repo:
        work = self._state.root / "work" / name
        work.mkdir(parents=True)
        git("init", "-q", "-b", "main", cwd=work)
        for key, value in (
            ("uploadpack.allowAnySHA1InWant", "true"),
            ("uploadpack.allowFilter", "true"),
            ("http.receivepack", "false"),
        ):
            git("config", key, value, cwd=work)
        (self._state.root / "srv" / f"{name}.git").symlink_to(work / ".git")
        if private:
            self._state.private[name] = (username, password)
        url = f"http://{self.host}/{name}.git"
        return Repo(
            name=name,
            work=work,
            url=url,
            username=username if private else None,
            password=password if private else None,
        )
