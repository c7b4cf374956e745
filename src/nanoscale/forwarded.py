"""Which client address and scheme a request really has, when a reverse proxy fronts us.

Deployed apps run on this host: they reach the orchestrator's port from loopback (or from
any of the host's own addresses) and can send any `X-Forwarded-For` they like. A peer
address alone therefore cannot tell the proxy from a tenant. The proxy proves itself with a
shared secret header (`X-NanoScale-Proxy-Secret`, NANOSCALE_PROXY_SECRET) that it sets on
every request and tenants cannot know; only then, and only from an address in
NANOSCALE_TRUSTED_PROXIES, are `X-Forwarded-For`/`-Proto` believed. The secret header is
removed before anything else sees the request.
"""

from __future__ import annotations

import hmac
import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

from nanoscale.logs import get_logger

log = get_logger("nanoscale.http")

PROXY_SECRET_HEADER = "X-NanoScale-Proxy-Secret"  # noqa: S105 (a header name)
_SECRET_KEY = PROXY_SECRET_HEADER.lower().encode()
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address_in(value: str, networks: list[_Network]) -> bool:
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return False
    return any(address in network for network in networks)


def forwarded_client(forwarded_for: str, trusted: list[_Network]) -> str | None:
    """The nearest address in `X-Forwarded-For` that is not a trusted proxy: entries to its
    left were written by the client and prove nothing."""
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _address_in(hop, trusted):
            return hop[:64]
    return None


class ForwardedHeadersMiddleware:
    """Rewrites the ASGI scope's client and scheme from the proxy's headers, only for a
    trusted peer that presents the proxy secret; strips the secret header either way."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: list[str], secret: str | None) -> None:
        self.app = app
        self.trusted = [ipaddress.ip_network(entry, strict=False) for entry in trusted_proxies]
        self.secret = secret.encode() if secret else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers", []))
        presented = [value for name, value in headers if name == _SECRET_KEY]
        if presented:
            scope = {**scope, "headers": [(n, v) for n, v in headers if n != _SECRET_KEY]}
        if self._from_proxy(scope, presented):
            scope = _rewritten(scope, dict(headers), self.trusted)
        await self.app(scope, receive, send)

    def _from_proxy(self, scope: Scope, presented: list[bytes]) -> bool:
        peer = scope.get("client")
        if self.secret is None or not peer or not _address_in(str(peer[0]), self.trusted):
            return False
        if len(presented) == 1 and hmac.compare_digest(presented[0], self.secret):
            return True
        if presented:
            log.warning("http.proxy_secret_rejected", peer=str(peer[0]))
        return False


def _rewritten(scope: Scope, headers: dict[bytes, bytes], trusted: list[_Network]) -> Scope:
    rewritten = dict(scope)
    forwarded_for = headers.get(b"x-forwarded-for")
    if forwarded_for:
        client = forwarded_client(forwarded_for.decode("latin-1"), trusted)
        if client:
            rewritten["client"] = (client, 0)
    proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
    if proto in {"http", "https"}:
        secure = proto == "https"
        if scope["type"] == "websocket":
            rewritten["scheme"] = "wss" if secure else "ws"
        else:
            rewritten["scheme"] = proto
    return rewritten
