"""`GET /api/projects/{id}/logs`: what the project's live release prints (runtime output).

Plain text: the last `lines` lines. With `Accept: text/event-stream`: Server-Sent Events that
follow the output: a `release` event (data: the deployment id now followed, empty when
nothing runs), `output` events carrying text, and comment lines as keep-alives. The stream
moves to the new release after a redeploy and ends if the project is deleted. Unknown or
repeated query parameters are refused (422).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from nanoscale.api.contract import TEXT_OR_EVENTS
from nanoscale.api.deps import Context, CurrentAuth, CurrentUser, DbSession
from nanoscale.api.streaming import SSE_HEADERS, paced, sse_event, while_signed_in
from nanoscale.db.transactions import end_transaction
from nanoscale.deployments.logs.pacing import Idle
from nanoscale.deployments.logs.release_output import (
    DEFAULT_LINES,
    MAX_LINES,
    ReleaseEvent,
    release_output_stream,
    release_output_text,
)
from nanoscale.errors import InvalidInput

QUERY_PARAMETERS = frozenset({"lines"})


def only_known_query(request: Request) -> None:
    """A mistyped or repeated parameter (`?line=50`, `?lines=5&lines=9`) is an error rather
    than silently the default or the last value."""
    for name in request.query_params:
        if name not in QUERY_PARAMETERS:
            raise InvalidInput(f"unknown query parameter {name[:40]!r}", field=name[:40])
        if len(request.query_params.getlist(name)) > 1:
            raise InvalidInput(f"give {name} once", field=name)


router = APIRouter(tags=["deployments"], dependencies=[Depends(only_known_query)])


@router.get(
    "/projects/{project_id}/logs",
    response_model=None,
    response_class=PlainTextResponse,
    responses=TEXT_OR_EVENTS,
)
def project_logs(
    *,
    project_id: str,
    request: Request,
    user: CurrentUser,
    auth: CurrentAuth,
    db: DbSession,
    ctx: Context,
    lines: Annotated[int, Query(ge=1, le=MAX_LINES)] = DEFAULT_LINES,
) -> PlainTextResponse | StreamingResponse:
    if "text/event-stream" not in request.headers.get("accept", ""):
        text = release_output_text(db, ctx=ctx, user=user, project_id=project_id, lines=lines)
        return PlainTextResponse(text)
    events = release_output_stream(db, ctx=ctx, user=user, project_id=project_id, lines=lines)
    events = while_signed_in(events, ctx=ctx, auth=auth)
    end_transaction(db)  # the stream polls with its own sessions
    return StreamingResponse(_sse(events), media_type="text/event-stream", headers=SSE_HEADERS)


async def _sse(events: Iterator[ReleaseEvent | Idle]) -> AsyncIterator[str]:
    async for event in paced(events):
        if event.kind == "keepalive":
            yield ": keep-alive\n\n"
        else:
            yield sse_event(event.kind, event.data)
