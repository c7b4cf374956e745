"""ASGI middleware: faults on every route; on REST also auth, rate limits and GitHub's headers."""

from __future__ import annotations

import asyncio
import secrets
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import AuthError, Credential, authenticate
from .conditional import Buffered, cache_headers, capture, etag_of, matches
from .http import MEDIA_TYPE, gh_error
from .limits import RATE_DOC, SECONDARY_MESSAGE, RateLimits, installation_limit
from .state import SimState

API_PREFIX = "/api/v3"


def _rate_message(cred: Credential, client: str) -> str:
    if cred.kind == "installation" and cred.installation_token:
        inst_id = cred.installation_token.installation.id
        return f"API rate limit exceeded for installation ID {inst_id}."
    if cred.kind == "user" and cred.user:
        return f"API rate limit exceeded for user ID {cred.user.id}."
    return (
        f"API rate limit exceeded for {client}. (But here's the good news: Authenticated "
        "requests get a higher rate limit. Check out the documentation for more details.)"
    )


class GitHubMiddleware:
    def __init__(self, app: ASGIApp, sim: Any) -> None:
        self.app, self.sim = app, sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        rest = path.startswith(API_PREFIX)
        for fault in self.sim.faults.take(method, path):
            await asyncio.sleep(fault.latency + fault.hang)
            if fault.rate_limited and rest:
                await self._spent(scope, receive, send)
                return
            if fault.status is not None:
                response: Response = (
                    gh_error(fault.status, "Server Error")
                    if rest
                    else PlainTextResponse("Server Error", status_code=fault.status)
                )
                await response(scope, receive, send)
                return
        if not rest:
            await self.app(scope, receive, send)
            return
        await self._rest(scope, receive, send)

    async def _spent(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A route-level rate-limit fault: GitHub's 403 with an empty budget."""
        reset = int(self.sim.state.clock.now().timestamp()) + 3600
        headers = {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Used": "5000",
            "X-RateLimit-Resource": "core",
        }
        message = "API rate limit exceeded for installation ID 0."
        await gh_error(self.sim.rate_limits.status, message, RATE_DOC, headers)(
            scope, receive, send
        )

    async def _rest(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: SimState = self.sim.state
        limits: RateLimits = self.sim.rate_limits
        request = Request(scope)
        client = request.client.host if request.client else "127.0.0.1"
        request_id = secrets.token_hex(8).upper()
        extra = {
            "X-GitHub-Media-Type": MEDIA_TYPE,
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Request-Id": request_id,
            # Every HTTP response carries its origin's time (RFC 9110 §6.6.1); GitHub's "Generating
            # a JSON Web Token (JWT) for a GitHub App" page blames failed JWTs on clock drift.
            "Date": format_datetime(state.clock.now(), usegmt=True),
        }
        try:
            cred = authenticate(state, request.headers.get("authorization", ""), client)
        except AuthError as exc:
            window, _ = limits.consume("anonymous", f"ip:{client}")
            headers = {**extra, **limits.headers(window)}
            await gh_error(401, exc.message, exc.doc, headers)(scope, receive, send)
            return
        scaled = None
        if cred.installation_token is not None:
            scaled = installation_limit(state, cred.installation_token.installation)
        scope.setdefault("state", {}).update(
            credential=cred, rate_window=limits.window(cred.kind, cred.rate_key, scaled)
        )
        buffered, cache = None, {}
        if scope["method"] == "GET":
            buffered = await capture(self.app, scope, receive)
            if buffered.status == 200:
                etag = etag_of(buffered.body)
                cache = cache_headers(etag, authenticated=cred.kind != "anonymous")
                if matches(request.headers.get("if-none-match", ""), etag):
                    window = limits.window(cred.kind, cred.rate_key, scaled)
                    await Buffered(304).replay(send, {**extra, **limits.headers(window), **cache})
                    return  # a 304 is not counted against the rate limit
        if scope["path"] == f"{API_PREFIX}/rate_limit":  # GitHub does not count this call
            window, allowed = limits.window(cred.kind, cred.rate_key, scaled), True
        else:
            window, allowed = limits.consume(cred.kind, cred.rate_key, scaled)
        extra.update(limits.headers(window))
        if not allowed:
            message = _rate_message(cred, client)
            await gh_error(limits.status, message, RATE_DOC, extra)(scope, receive, send)
            return
        if limits.secondary_hit(cred.rate_key, scope["method"]):
            headers = {**extra, "Retry-After": str(limits.retry_after)}
            message = SECONDARY_MESSAGE.format(rid=request_id)
            doc = f"{RATE_DOC}#about-secondary-rate-limits"
            await gh_error(403, message, doc, headers)(scope, receive, send)
            return
        if buffered is not None:
            await buffered.replay(send, {**extra, **cache})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                raw += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)
