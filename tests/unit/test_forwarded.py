"""ForwardedHeadersMiddleware on a tiny ASGI app that echoes what it was given."""

from __future__ import annotations

import asyncio
import ipaddress
import json

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from nanoscale.forwarded import PROXY_SECRET_HEADER, ForwardedHeadersMiddleware, forwarded_client

SECRET = "k" * 32


async def _echo(scope: Scope, _receive: Receive, send: Send) -> None:
    seen = {
        "client": scope["client"][0],
        "scheme": scope["scheme"],
        "headers": [name.decode() for name, _ in scope["headers"]],
    }
    body = json.dumps(seen).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def _seen(peer: str, headers: dict[str, str]) -> dict[str, object]:
    app = ForwardedHeadersMiddleware(_echo, trusted_proxies=["127.0.0.1"], secret=SECRET)

    async def call() -> dict[str, object]:
        transport = httpx.ASGITransport(app=app, client=(peer, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            seen: dict[str, object] = (await client.get("/", headers=headers)).json()
            return seen

    return asyncio.run(call())


def test_the_proxy_with_the_secret_sets_client_and_scheme_and_the_secret_is_removed() -> None:
    seen = _seen(
        "127.0.0.1",
        {
            "X-Forwarded-For": "198.51.100.1",
            "X-Forwarded-Proto": "https",
            PROXY_SECRET_HEADER: SECRET,
        },
    )
    assert (seen["client"], seen["scheme"]) == ("198.51.100.1", "https")
    assert PROXY_SECRET_HEADER.lower() not in seen["headers"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("peer", "secret"), [("127.0.0.1", None), ("127.0.0.1", "wrong" * 8), ("10.1.1.1", SECRET)]
)
def test_without_a_trusted_peer_and_the_right_secret_nothing_changes(
    peer: str, secret: str | None
) -> None:
    headers = {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"}
    if secret:
        headers[PROXY_SECRET_HEADER] = secret
    seen = _seen(peer, headers)
    assert (seen["client"], seen["scheme"]) == (peer, "http")
    assert PROXY_SECRET_HEADER.lower() not in seen["headers"]  # type: ignore[operator]


def test_the_client_is_the_nearest_untrusted_hop() -> None:
    trusted = [ipaddress.ip_network("10.0.0.0/8")]
    assert forwarded_client("1.1.1.1, 2.2.2.2, 10.0.0.3", trusted) == "2.2.2.2"
    assert forwarded_client("10.0.0.4", trusted) is None
