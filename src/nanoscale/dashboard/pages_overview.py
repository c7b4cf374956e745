"""`/`: project counts by status, the latest deployments across the user's projects, health."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from nanoscale.dashboard.templating import render
from nanoscale.dashboard.views import deployment_row
from nanoscale.dashboard.web import DashboardRoute, SignedIn
from nanoscale.db.transactions import outside_transaction
from nanoscale.deployments.reads.overview import overview as load_overview
from nanoscale.system_health import system_health
from nanoscale.web_deps import Context, DbSession

router = APIRouter(route_class=DashboardRoute)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, db: DbSession, ctx: Context, info: SignedIn) -> HTMLResponse:
    page = load_overview(db, user=info.user, ctx=ctx)
    with outside_transaction(db):  # the database check opens its own connection
        health = system_health(ctx).components
    return render(
        request,
        "overview.html",
        nav="overview",
        counts=page.counts,
        feed=[deployment_row(item.deployment, item.project_name) for item in page.feed],
        health=health,
    )
