"""Server-Sent Events plumbing shared by the log endpoints.

Followers are plain iterators that yield `IDLE` between polls. `paced` drives one from the
event loop: each step borrows a worker thread only for the poll itself and the wait between
polls is an `await`, so many idle streams never starve the threads other requests need.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

import anyio

from nanoscale.deployments.logs.pacing import IDLE, POLL_SECONDS, Idle

T = TypeVar("T")
_DONE = object()

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


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
