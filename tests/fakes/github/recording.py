"""Record-and-validate hooks: an ASGI middleware, an httpx transport and a webhook listener.

A test holds one SpecRecorder; everything that passes through is validated against GitHub's
descriptions and kept, so the test can assert at the end that nothing failed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .spec import API_PREFIX, RestSpec, ValidationResult, WebhookSpec

# Every result from every recorder in this process, for the end-of-session summary.
ALL_RESULTS: list[ValidationResult] = []


@dataclass
class SpecRecorder:
    check_requests: bool = False  # also validate what clients send (NanoScale's requests)
    in_summary: bool = True  # count in the end-of-session summary
    results: list[ValidationResult] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keep(self, result: ValidationResult) -> ValidationResult:
        with self._lock:
            self.results.append(result)
            if self.in_summary:
                ALL_RESULTS.append(result)
        return result

    def check_response(
        self, method: str, path: str, status: int, headers: dict[str, str], body: bytes
    ) -> ValidationResult:
        return self._keep(RestSpec.load().validate_response(method, path, status, headers, body))

    def check_request(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> ValidationResult:
        return self._keep(RestSpec.load().validate_request(method, path, query, headers, body))

    def check_webhook(
        self, headers: dict[str, str], body: bytes, *, signed: bool = True
    ) -> ValidationResult:
        return self._keep(WebhookSpec.load().validate(headers, body, signed=signed))

    @property
    def failures(self) -> list[ValidationResult]:
        return [r for r in self.results if not r.ok]

    def keys(self, kind: str) -> set[str]:
        return {r.key for r in self.results if r.kind == kind and r.ok}

    def assert_clean(self) -> None:
        problems = [f"{r.kind} {r.key} {r.detail}: {e}" for r in self.failures for e in r.errors]
        assert not problems, "spec validation failed:\n" + "\n".join(problems[:40])


class SpecCheckMiddleware:
    """Validates every REST response the simulator sends (and, optionally, each request)."""

    def __init__(self, app: ASGIApp, recorder: SpecRecorder) -> None:
        self.app, self.recorder = app, recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        request_body: list[bytes] = []
        status, headers, body = 0, {}, []

        async def recv() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_body.append(message.get("body", b""))
            return message

        async def snd(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, recv, snd)
        method, path = scope["method"], scope["path"]
        if self.recorder.check_requests:
            query = dict(httpx.QueryParams(scope.get("query_string", b"").decode()))
            req_headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            self.recorder.check_request(method, path, query, req_headers, b"".join(request_body))
        self.recorder.check_response(method, path, status, headers, b"".join(body))


def _is_api(request: httpx.Request) -> bool:
    return request.url.host == "api.github.com" or request.url.path.startswith(API_PREFIX)


def _rebuild(request: httpx.Request, response: httpx.Response, content: bytes) -> httpx.Response:
    """A fully read copy; the content is already decoded, so drop the encoding headers."""
    skip = {"content-encoding", "content-length", "transfer-encoding"}
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in skip]
    return httpx.Response(response.status_code, headers=headers, content=content, request=request)


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wrap a client's transport: validate its GitHub API requests and the responses."""

    def __init__(
        self,
        recorder: SpecRecorder,
        inner: httpx.BaseTransport | None = None,
        async_inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.recorder = recorder
        self.inner = inner or httpx.HTTPTransport()
        self.async_inner = async_inner or httpx.AsyncHTTPTransport()

    def _check(self, request: httpx.Request, response: httpx.Response) -> None:
        if not _is_api(request):
            return
        path, method = request.url.path, request.method
        self.recorder.check_request(
            method, path, dict(request.url.params), dict(request.headers), request.content
        )
        self.recorder.check_response(
            method, path, response.status_code, dict(response.headers), response.content
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        response = self.inner.handle_request(request)
        content = response.read()
        rebuilt = _rebuild(request, response, content)
        response.close()
        self._check(request, rebuilt)
        return rebuilt

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response = await self.async_inner.handle_async_request(request)
        content = await response.aread()
        rebuilt = _rebuild(request, response, content)
        await response.aclose()
        self._check(request, rebuilt)
        return rebuilt

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.async_inner.aclose()


def summarize(results: Iterable[ValidationResult]) -> dict[str, int]:
    results = list(results)
    ok: Callable[[str], set[str]] = lambda kind: {r.key for r in results if r.kind == kind and r.ok}  # noqa: E731
    return {
        "checks": len(results),
        "failures": sum(not r.ok for r in results),
        "rest_operations": len(ok("response")),
        "request_operations": len(ok("request")),
        "webhook_types": len(ok("webhook")),
    }
