"""Host header validation: the defence against DNS rebinding.

A page on `http://rebind.attacker.example:8000` whose name is re-pointed at 127.0.0.1 reaches
the orchestrator with `Host: rebind.attacker.example:8000` and a matching Origin, so an Origin
check alone would pass it. Requests naming any host other than ours are refused (400) before
routing; the CSRF origin check then only ever compares against origins built from our hosts.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from nanoscale.http_middleware import send_error
from nanoscale.logs import get_logger
from nanoscale.settings import Settings

log = get_logger("nanoscale.http")

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def host_name(host_header: str) -> str | None:
    """The host name in a Host header value (`name:port`, `[::1]:port`), lower case."""
    try:
        return urlsplit(f"//{host_header}").hostname or None
    except ValueError:
        return None


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """Loopback names, NANOSCALE_HOST, the public URL's host and NANOSCALE_ALLOWED_HOSTS."""
    names = set(LOOPBACK_HOSTS) | {h.lower() for h in settings.allowed_hosts}
    if not _is_unspecified(settings.host):  # 0.0.0.0 / :: are bind addresses, not names
        names.add(settings.host.strip("[]").lower())
    if settings.public_base_url:
        public = urlsplit(settings.public_base_url).hostname
        if public:
            names.add(public)
    return frozenset(names)


def _is_unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


class HostCheckMiddleware:
    """Answer 400 `host_not_allowed` to HTTP requests whose Host is not one of ours.

    A request without a Host header (HTTP/1.0) is addressed to the socket itself and passes."""

    def __init__(self, app: ASGIApp, *, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        raw = dict(scope.get("headers", [])).get(b"host")
        if raw is not None and host_name(raw.decode("latin-1")) not in self.allowed:
            log.warning("http.host_rejected", path=scope.get("path"))
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            message = (
                "this server does not answer to that host name; add it to "
                "NANOSCALE_ALLOWED_HOSTS if it is yours"
            )
            await send_error(send, 400, "host_not_allowed", message)
            return
        await self.app(scope, receive, send)
