"""Deployment routes: redeploy, rollback, history, one deployment, its log, cancel.

`GET /api/deployments/{id}/logs` answers plain text, or Server-Sent Events when the client
sends `Accept: text/event-stream`: one `log` event per chunk (its id is the resume point for
`Last-Event-ID`), then an `end` event carrying the final state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, status
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel, Field

from nanoscale.api.contract import TEXT_OR_EVENTS, errors
from nanoscale.api.deps import Context, CurrentAuth, CurrentUser, DbSession
from nanoscale.api.streaming import SSE_HEADERS, paced, sse_event, while_signed_in
from nanoscale.db.transactions import end_transaction
from nanoscale.deployments import service
from nanoscale.deployments.logs.build_log import follow_log
from nanoscale.deployments.logs.pacing import Idle
from nanoscale.deployments.models import Deployment
from nanoscale.errors import InvalidInput

router = APIRouter(tags=["deployments"])


class ErrorOut(BaseModel):
    code: str
    message: str
    responsibility: str


class DeploymentOut(BaseModel):
    id: str
    project_id: str
    state: str
    commit_sha: str | None
    ref: str | None
    trigger: str
    correlation: dict[str, Any]
    commit_message: str | None  # the commit's first line, read from git after fetch
    commit_author: str | None
    error: ErrorOut | None
    cancel_requested: bool
    queued_at: datetime
    fetching_at: datetime | None
    building_at: datetime | None
    starting_at: datetime | None
    finished_at: datetime | None


class DeploymentRequested(BaseModel):
    deployment_id: str
    deployment: DeploymentOut


class RedeployIn(BaseModel):
    commit_sha: str | None = Field(default=None, max_length=64)


class RollbackIn(BaseModel):
    deployment_id: str = Field(max_length=32)


def deployment_out(d: Deployment) -> DeploymentOut:
    error = None
    if d.error_code:
        error = ErrorOut(
            code=d.error_code,
            message=d.error_message or "",
            responsibility=d.error_responsibility or "platform",
        )
    return DeploymentOut(
        id=d.id,
        project_id=d.project_id,
        state=d.state,
        commit_sha=d.commit_sha,
        ref=d.ref,
        trigger=d.trigger,
        correlation=d.correlation or {},
        commit_message=d.commit_message,
        commit_author=d.commit_author,
        error=error,
        cancel_requested=d.cancel_requested,
        queued_at=d.queued_at,
        fetching_at=d.fetching_at,
        building_at=d.building_at,
        starting_at=d.starting_at,
        finished_at=d.finished_at,
    )


def _requested(d: Deployment) -> DeploymentRequested:
    return DeploymentRequested(deployment_id=d.id, deployment=deployment_out(d))


async def _no_stray_body(request: Request) -> None:
    """An optional body is no body at all or a JSON object: `null` or a body FastAPI did
    not parse (another media type) is refused rather than read as "no body"."""
    raw = await request.body()
    if raw.strip() and (
        raw.strip() == b"null" or "json" not in request.headers.get("content-type", "")
    ):
        raise InvalidInput("the body must be a JSON object (or left out)")


@router.post(
    "/projects/{project_id}/redeploy",
    response_model=DeploymentRequested,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(_no_stray_body)],
)
def redeploy(
    project_id: str,
    user: CurrentUser,
    db: DbSession,
    body: RedeployIn | None = None,
) -> DeploymentRequested:
    commit_sha = body.commit_sha if body else None
    return _requested(service.redeploy(db, user=user, project_id=project_id, commit_sha=commit_sha))


@router.post(
    "/projects/{project_id}/rollback",
    response_model=DeploymentRequested,
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(409),
)
def rollback(
    project_id: str, body: RollbackIn, user: CurrentUser, db: DbSession
) -> DeploymentRequested:
    return _requested(
        service.rollback(db, user=user, project_id=project_id, deployment_id=body.deployment_id)
    )


@router.get("/projects/{project_id}/deployments", response_model=list[DeploymentOut])
def list_deployments(project_id: str, user: CurrentUser, db: DbSession) -> list[DeploymentOut]:
    rows = service.list_for_project(db, user=user, project_id=project_id)
    return [deployment_out(d) for d in rows]


@router.get("/deployments/{deployment_id}", response_model=DeploymentOut)
def get_deployment(deployment_id: str, user: CurrentUser, db: DbSession) -> DeploymentOut:
    return deployment_out(service.get_for_user(db, user=user, deployment_id=deployment_id))


@router.post(
    "/deployments/{deployment_id}/cancel", response_model=DeploymentOut, responses=errors(409)
)
def cancel_deployment(deployment_id: str, user: CurrentUser, db: DbSession) -> DeploymentOut:
    return deployment_out(service.cancel(db, user=user, deployment_id=deployment_id))


@router.get(
    "/deployments/{deployment_id}/logs",
    response_model=None,
    response_class=PlainTextResponse,
    responses=TEXT_OR_EVENTS,
)
def deployment_logs(
    *,
    deployment_id: str,
    request: Request,
    user: CurrentUser,
    auth: CurrentAuth,
    db: DbSession,
    ctx: Context,
    last_event_id: Annotated[str | None, Header()] = None,
) -> PlainTextResponse | StreamingResponse:
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    chunks = service.log_chunks(db, user=user, deployment_id=deployment_id, after_id=after)
    if "text/event-stream" not in request.headers.get("accept", ""):
        return PlainTextResponse("".join(c.text for c in chunks))
    end_transaction(db)  # the stream polls with its own sessions
    return StreamingResponse(
        _sse(
            while_signed_in(
                follow_log(ctx.sessions, deployment_id, after_id=after), ctx=ctx, auth=auth
            )
        ),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


async def _sse(
    events: Iterator[tuple[int, str] | tuple[None, str] | Idle],
) -> AsyncIterator[str]:
    async for chunk_id, text in paced(events):
        if chunk_id is None:
            yield sse_event("end", text)
            return
        yield sse_event("log", text, event_id=chunk_id)
