"""An HTTP client for Caddy's admin API on a Unix socket.

The admin API has no authentication, so it is never on a TCP port (every deployed app can
connect to loopback): Caddy listens on a socket in a directory only NanoScale's user (and
Caddy's, when they differ) may enter. Caddy checks the Host header of admin requests; for a
socket listener the allowed host is the empty one, so every request sends `Host:` empty.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpcore
import httpx
from httpcore._backends.sync import SyncStream

from nanoscale.errors import PlatformError
from nanoscale.settings import UNIX_PREFIX

ADMIN_TIMEOUT = 10.0


def admin_listen_address(socket_path: Path) -> str:
    """`admin.listen` in Caddy's config for this socket: `unix//abs/path`."""
    return f"{UNIX_PREFIX}{socket_path}"


def admin_socket_exposure(socket_path: Path) -> str | None:
    """Why users other than NanoScale's and Caddy's could reach the socket, or None: its
    directory must not be open to "others" (whatever the socket's own mode)."""
    mode = socket_path.parent.stat().st_mode & 0o777
    if mode & 0o007:
        return (
            f"{socket_path.parent} (mode {mode:o}) is open to every user: any deployed app "
            "could reach Caddy's admin socket in it and reconfigure the proxy"
        )
    return None


class _SocketBackend(httpcore.SyncBackend):
    """httpcore's Unix-socket connect leaves the socket open when connect fails (Caddy
    stopped, a stale socket file); this one closes it."""

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(path)
        except OSError as exc:
            sock.close()
            raise httpcore.ConnectError(f"{type(exc).__name__}: {exc.strerror}") from None
        return SyncStream(sock)


class _SocketTransport(httpx.HTTPTransport):
    def __init__(self, socket_path: Path) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            uds=str(socket_path),
            max_keepalive_connections=0,
            network_backend=_SocketBackend(),
        )


class CaddyAdmin:
    def __init__(self, socket_path: Path, *, timeout: float = ADMIN_TIMEOUT) -> None:
        self.socket_path = socket_path
        # Caddy restarts its admin endpoint on every config load, so a reused keep-alive
        # connection can fail with no response: one fresh connection per admin request.
        self._http = httpx.Client(
            transport=_SocketTransport(socket_path),
            base_url="http://caddy-admin",
            headers={"Host": ""},
            timeout=timeout,
        )

    def request(self, method: str, path: str, payload: Any = None) -> httpx.Response:
        try:
            if payload is None:
                return self._http.request(method, path)
            return self._http.request(method, path, json=payload)
        except httpx.TransportError as exc:
            raise PlatformError(
                f"Caddy's admin API on {self.socket_path} is unreachable ({type(exc).__name__})",
                code="proxy_unreachable",
            ) from None

    def answers(self) -> bool:
        try:
            return self._http.get("/config/").status_code == 200
        except httpx.TransportError:
            return False

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CaddyAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
