"""/api/integrations/github: connect, status, installations, repositories, disconnect.

The browser-facing steps (`callback`, `setup`) answer with a redirect to the dashboard that
carries `github=<outcome>` or `github_error=<code>`; everything else is JSON.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from nanoscale.api.contract import errors
from nanoscale.api.deps import ClientIp, Context, CurrentAuth, CurrentUser, DbSession
from nanoscale.errors import NanoScaleError, Unauthenticated
from nanoscale.github import connect, installations, service, sync
from nanoscale.logs import get_logger
from nanoscale.projects.schemas import MAX_GITHUB_ID

# Any route may find GitHub not configured (404), need a reconnect (409), or find GitHub
# refusing the App (502), unreachable or rate-limiting (503).
router = APIRouter(
    prefix="/integrations/github", tags=["github"], responses=errors(404, 409, 502, 503)
)
log = get_logger("nanoscale.api.github")
DASHBOARD_PAGE = "/settings"
GitHubId = Annotated[int, Query(ge=1, le=MAX_GITHUB_ID)]


def _back(**query: str) -> RedirectResponse:
    return RedirectResponse(f"{DASHBOARD_PAGE}?{urlencode(query)}", status_code=303)


def _failed(exc: NanoScaleError) -> RedirectResponse:
    return _back(github_error=exc.code, github_status=str(exc.status))


# Visited by the browser (GitHub redirects there): failures go back to a dashboard page.
BROWSER_STEPS = frozenset({f"/api{router.prefix}/callback", f"/api{router.prefix}/setup"})


def browser_step_failed(code: str, status: int) -> RedirectResponse:
    """A failure on a browser step, back on the settings page in words (see BROWSER_STEPS)."""
    return _back(github_error=code, github_status=str(status))


class StartOut(BaseModel):
    url: str


@router.post("/start", response_model=StartOut)
def start(auth: CurrentAuth, db: DbSession, ctx: Context) -> StartOut:
    session_id = auth.session.id if auth.session else None
    return StartOut(url=connect.start(db, ctx=ctx, user=auth.user, session_id=session_id))


# Browser steps GitHub redirects to: they answer with a redirect whatever happened, so they
# are not part of the published client API (nor is the webhook, which GitHub calls).
@router.get("/callback", include_in_schema=False)
def callback(
    *,
    auth: CurrentAuth,
    db: DbSession,
    ctx: Context,
    ip: ClientIp,
    code: Annotated[str | None, Query(max_length=512)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=128)] = None,
) -> RedirectResponse:
    if auth.session is None:
        raise Unauthenticated("finish connecting GitHub in the browser you started it from")
    try:
        connect.callback(
            db, ctx=ctx, user=auth.user, session_id=auth.session.id,
            code=code, state=state, error=error, ip=ip,
        )  # fmt: skip
    except NanoScaleError as exc:
        log.warning("github.callback.failed", code=exc.code)
        return _failed(exc)
    return _back(github="connected")


@router.get("/setup", include_in_schema=False)
def setup(
    *,
    user: CurrentUser,
    db: DbSession,
    ctx: Context,
    ip: ClientIp,
    installation_id: GitHubId,
    setup_action: Annotated[str | None, Query(max_length=32)] = None,
) -> RedirectResponse:
    try:
        installations.record_setup(db, ctx=ctx, user=user, installation_id=installation_id, ip=ip)
    except NanoScaleError as exc:
        return _failed(exc)
    return _back(github="installed")


@router.get("/status")
def status(user: CurrentUser, db: DbSession, ctx: Context) -> dict[str, Any]:
    return service.status(db, ctx=ctx, user=user)


@router.post("/disconnect")
def disconnect(user: CurrentUser, db: DbSession, ctx: Context, ip: ClientIp) -> dict[str, Any]:
    return service.disconnect(db, ctx=ctx, user=user, ip=ip)


@router.get("/installations")
def list_installations(user: CurrentUser, db: DbSession, ctx: Context) -> dict[str, Any]:
    rows = installations.refresh_installations(db, ctx=ctx, user=user)
    return {"installations": [service.installation_out(r) for r in rows]}


@router.get("/repos")
def list_repos(
    *,
    user: CurrentUser,
    db: DbSession,
    ctx: Context,
    installation_id: GitHubId,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    query: Annotated[str | None, Query(max_length=service.MAX_QUERY)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    page = service.list_repositories(
        db,
        ctx=ctx,
        user=user,
        installation_id=installation_id,
        cursor=cursor,
        query=query,
        limit=limit,
    )
    return {"repositories": page.repositories, "next_cursor": page.next_cursor}


class SyncIn(BaseModel):
    installation_id: int = Field(ge=1, le=MAX_GITHUB_ID)


@router.post("/repos/sync")
def sync_repos(body: SyncIn, user: CurrentUser, db: DbSession, ctx: Context) -> dict[str, Any]:
    result = sync.sync_repositories(db, ctx=ctx, user=user, installation_id=body.installation_id)
    return {"installation_id": result.installation_id, "repositories": result.repositories,
            "changed": result.changed}  # fmt: skip


@router.get("/deliveries")
def list_deliveries(
    user: CurrentUser,
    db: DbSession,
    project_id: Annotated[str, Query(max_length=32)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    rows = service.list_deliveries(db, user=user, project_id=project_id, limit=limit)
    return {"deliveries": rows}
