"""Server-Sent Events plumbing shared by the log endpoints.

Followers are plain iterators that yield `IDLE` between polls. `paced` drives one from the
event loop: each step borrows a worker thread only for the poll itself and the wait between
polls is an `await`, so many idle streams never starve the threads other requests need.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import anyio

from nanoscale.accounts import tokens
from nanoscale.accounts.sessions import is_live
from nanoscale.db.engine import session_scope
from nanoscale.deployments.logs.pacing import IDLE, POLL_SECONDS, Idle
from nanoscale.logs import get_logger

if TYPE_CHECKING:
    from nanoscale.api.deps import Auth
    from nanoscale.context import AppContext

log = get_logger("nanoscale.api.streaming")

T = TypeVar("T")
_DONE = object()

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# How often an open stream re-checks the session or API token it was opened with.
SESSION_CHECK_SECONDS = 2.0


def while_signed_in(
    events: Iterator[T | Idle], *, ctx: AppContext, auth: Auth, every: float = SESSION_CHECK_SECONDS
) -> Iterator[T | Idle]:
    """`events` until the credential that opened the stream ends: the cookie session (logout,
    expiry, user removed) or the API token (revoked, expired). A stream is not a way to keep
    reading after signing out."""

    def still_valid() -> bool:
        with session_scope(ctx.sessions) as db:
            if auth.session is not None:
                return is_live(db, settings=ctx.settings, session_id=auth.session.id)
            return auth.token_hash is not None and tokens.is_live(db, token_hash=auth.token_hash)

    return _until_ended(events, still_valid=still_valid, every=every)


def _until_ended(
    events: Iterator[T | Idle], *, still_valid: Callable[[], bool], every: float
) -> Iterator[T | Idle]:
    checked = time.monotonic()
    try:
        for item in events:
            if time.monotonic() - checked >= every:
                checked = time.monotonic()
                if not still_valid():
                    log.info("auth.stream.credential_ended")
                    return
            yield item
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


async def paced(events: Iterator[T | Idle], *, poll: float = POLL_SECONDS) -> AsyncIterator[T]:
    try:
        while True:
            item = await anyio.to_thread.run_sync(next, events, _DONE)
            if item is _DONE:
                return
            if item is IDLE:
                await anyio.sleep(poll)
                continue
            yield item  # type: ignore[misc]  # neither IDLE nor _DONE: a T
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


def sse_event(kind: str, text: str, *, event_id: int | None = None) -> str:
    """One event. Lone CR and CRLF become LF first: EventSource ends a line at any of them,
    so output like progress bars could otherwise inject fields (`id:`) into the stream."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = "\n".join(f"data: {line}" for line in text.split("\n"))
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\n{data}\n\n"
