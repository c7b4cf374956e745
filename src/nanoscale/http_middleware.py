"""ASGI middleware: security headers on every response, request body limit (413) and request
logging without bodies or queries."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nanoscale.errors import error_body, is_api_path
from nanoscale.logs import get_logger

log = get_logger("nanoscale.http")


async def send_error(send: Send, status: int, code: str, message: str) -> None:
    """A complete JSON error response in the API's shape, sent before any app code ran."""
    body = json.dumps(error_body(code, message)).encode()
    await _send(send, status, b"application/json", body)


async def _send(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_TOO_LARGE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Request too large · NanoScale</title></head>
<body><h1>Request too large</h1><p>{message}. <a href="/">Back to the dashboard</a></p></body>
</html>
"""


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes` with 413, whether declared or streamed (chunked).

    A streamed body is read (up to the limit) before the app runs and then replayed to it:
    an error raised from inside `receive()` would be swallowed by the framework's body
    parsing and turned into a 400. API paths get the JSON error, pages a small HTML one."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, own_limit_paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.own_limit_paths = own_limit_paths  # endpoints that enforce their own (GitHub's)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.own_limit_paths:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, send)
            return
        buffered = await self._read_body(receive)
        if buffered is None:
            await self._reject(scope, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:  # later calls: disconnect notifications from the server
                return await receive()
            replayed = True
            return buffered

        await self.app(scope, replay, send)

    async def _read_body(self, receive: Receive) -> Message | None:
        """The whole body as one message, or None when it exceeds the limit. A disconnect
        before the end is passed on as is (the app then sees the client gone)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _reject(self, scope: Scope, send: Send) -> None:
        message = f"request body exceeds {self.max_bytes} bytes"
        if is_api_path(str(scope.get("path", ""))):
            await send_error(send, 413, "payload_too_large", message)
            return
        page = _TOO_LARGE_PAGE.format(message=message).encode()
        await _send(send, 413, b"text/html; charset=utf-8", page)


def _routine(scope: Scope, status: int) -> bool:
    """Requests logged at debug: successful static files and htmx's own requests (the steps
    partial polls every second while a deployment runs), so info shows what people did."""
    if scope.get("method") != "GET" or status >= 400:
        return False
    path = str(scope.get("path", ""))
    if path.startswith("/static/") or path == "/favicon.ico":
        return True
    return any(name == b"hx-request" for name, _ in scope.get("headers", []))


class RequestLogMiddleware:
    """One `http.request` line per request: method, path (no query), status, duration; at
    debug level for routine traffic (`_routine`), at info for the rest."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            emit = log.debug if _routine(scope, status["code"]) else log.info
            emit(
                "http.request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status["code"],
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )


# Every response: never framed (clickjacking: a page, deployed apps included, framing the
# dashboard invisibly) and never content-sniffed (a log line shaped like HTML stays text).
SECURITY_HEADERS: dict[str, str] = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
# Pages, API answers and log streams are per user: no copy is kept by the browser or a
# proxy, so Back after logout does not show them. Only the static assets may be cached.
NO_STORE = "no-store"
CACHEABLE_PREFIX = "/static/"


def content_security_policy(image_origins: tuple[str, ...] = ()) -> str:
    """Never framed; images only from the dashboard itself and `image_origins` (the configured
    GitHub's avatar origin), so injected markup cannot load trackers or leak through images.
    `data:` fetches nothing (the API docs page draws its icons with it)."""
    images = " ".join(("img-src 'self' data:", *image_origins))
    return f"frame-ancestors 'none'; {images}"


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS (with `image_origins` in the CSP) to every HTTP response and
    `Cache-Control: no-store` to every one outside /static/, whatever produced it (routes,
    streams, errors from middleware)."""

    def __init__(self, app: ASGIApp, image_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        csp = content_security_policy(image_origins)
        self.headers = {**SECURITY_HEADERS, "Content-Security-Policy": csp}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith(CACHEABLE_PREFIX)

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(
                    list(message.get("headers", [])),
                    cacheable=cacheable,
                    headers_to_set=self.headers,
                )
            await send(message)

        await self.app(scope, receive, add_headers)


def with_security_headers(
    headers: list[tuple[bytes, bytes]],
    *,
    cacheable: bool,
    headers_to_set: dict[str, str] | None = None,
) -> list[tuple[bytes, bytes]]:
    chosen = SECURITY_HEADERS if headers_to_set is None else headers_to_set
    wanted = {name.lower().encode(): value.encode() for name, value in chosen.items()}
    if not cacheable:
        wanted[b"cache-control"] = NO_STORE.encode()
    kept = [(name, value) for name, value in headers if name.lower() not in wanted]
    return kept + list(wanted.items())
