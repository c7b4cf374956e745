"""Idle log streams must not hold worker threads between polls, and SSE framing must not let
stream text inject fields."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import anyio.to_thread

from nanoscale.api.streaming import paced, sse_event
from nanoscale.deployments.logs.pacing import IDLE, Idle

STREAMS = 5


def _idle_follower(polls: int) -> Iterator[str | Idle]:
    for _ in range(polls):
        yield IDLE
    yield "done"


def _sleeping_follower(polls: int) -> Iterator[str | Idle]:
    """The old shape: the wait happens inside next(), i.e. on a worker thread."""
    for _ in range(polls):
        time.sleep(0.05)
        yield IDLE
    yield "done"


async def _mean_borrowed_threads(make: object) -> float:
    limiter = anyio.to_thread.current_default_thread_limiter()
    samples: list[int] = []
    done: list[str] = []

    async def consume() -> None:
        async for item in paced(make(20), poll=0.05):  # type: ignore[operator]
            done.append(item)

    async with anyio.create_task_group() as tg:
        for _ in range(STREAMS):
            tg.start_soon(consume)
        while len(done) < STREAMS:
            samples.append(int(limiter.borrowed_tokens))
            await anyio.sleep(0.005)
    return sum(samples) / len(samples)


def test_idle_streams_borrow_no_threads_while_waiting() -> None:
    paced_mean = anyio.run(_mean_borrowed_threads, _idle_follower)
    sleeping_mean = anyio.run(_mean_borrowed_threads, _sleeping_follower)

    # The control (half of each cycle spent sleeping on a thread) shows the measurement
    # detects threads held during waits; paced idle streams hold almost none.
    assert sleeping_mean > STREAMS / 4
    assert paced_mean < STREAMS / 10


def test_paced_stops_at_the_end_and_closes_the_follower() -> None:
    closed: list[bool] = []

    def follower() -> Iterator[str | Idle]:
        try:
            yield "a"
            yield IDLE
            yield "b"
        finally:
            closed.append(True)

    async def collect() -> list[str]:
        return [item async for item in paced(follower(), poll=0)]

    assert anyio.run(collect) == ["a", "b"]
    assert closed == [True]


def test_carriage_returns_cannot_inject_sse_fields() -> None:
    frame = sse_event("log", "Downloading 10%\r100%\rid: 999\r\nok", event_id=7)

    lines = frame.rstrip("\n").split("\n")
    assert lines[0] == "id: 7"
    assert lines[1] == "event: log"
    assert all(line.startswith("data: ") for line in lines[2:])
    assert "\r" not in frame
