"""Conditional requests: an `ETag` on every successful GET, `If-None-Match` answered 304.

Follows https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
and https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api: a 304 does
not count against the primary rate limit. GitHub's ETags are weak validators over the response.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RawHeaders = list[tuple[bytes, bytes]]


@dataclass
class Buffered:
    """A whole response held back so the middleware can decide what to send."""

    status: int = 0
    headers: RawHeaders = field(default_factory=list)
    body: bytes = b""

    async def replay(self, send: Send, extra: dict[str, str]) -> None:
        headers = self.headers + [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


async def capture(app: ASGIApp, scope: Scope, receive: Receive) -> Buffered:
    buffered, chunks = Buffered(), []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            buffered.status = message["status"]
            buffered.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    buffered.body = b"".join(chunks)
    return buffered


def etag_of(body: bytes) -> str:
    return f'W/"{hashlib.sha256(body).hexdigest()[:40]}"'


def matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): `W/` is ignored; `*` matches any current entity."""
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",") if tag.strip()}
    return "*" in wanted or etag.removeprefix("W/") in wanted


def cache_headers(etag: str, *, authenticated: bool) -> dict[str, str]:
    scope = "private" if authenticated else "public"
    return {
        "ETag": etag,
        "Cache-Control": f"{scope}, max-age=60, s-maxage=60",
        "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
    }
