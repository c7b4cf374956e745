"""`/`: project counts by status, the latest deployments across the user's projects, health."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from nanoscale import __version__
from nanoscale.context import AppContext
from nanoscale.dashboard.templating import render
from nanoscale.dashboard.views import DeploymentRow, deployment_row
from nanoscale.dashboard.web import Ctx, DashboardRoute, Db, SignedIn
from nanoscale.deployments import service as deployments
from nanoscale.deployments.backends import COMPONENT as BACKENDS
from nanoscale.deployments.backends import Backends
from nanoscale.deployments.status import project_status
from nanoscale.projects import service as projects

router = APIRouter(route_class=DashboardRoute)

FEED_SIZE = 10


@dataclass(frozen=True)
class HealthItem:
    name: str
    state: str
    detail: str


def health_items(ctx: AppContext) -> list[HealthItem]:
    # This page was read from the database, so it is reachable; a second connection here
    # would wait on SQLite's lock held by this request's own transaction.
    items = [HealthItem("Orchestrator", "ok", f"NanoScale {__version__}, database reachable")]
    backends = ctx.components.get(BACKENDS)
    if ctx.settings.proxy == "none" or not isinstance(backends, Backends):
        items.append(HealthItem("Proxy", "none", "no reverse proxy (NANOSCALE_PROXY=none)"))
    else:
        healthy = backends.proxy.healthy()
        detail = f"Caddy admin API at {ctx.settings.caddy_admin}"
        items.append(HealthItem("Proxy", "ok" if healthy else "unreachable", detail))
    enabled = ctx.settings.worker_enabled
    detail = "enabled" if enabled else "disabled (NANOSCALE_WORKER_ENABLED=false)"
    items.append(HealthItem("Deploy worker", "ok" if enabled else "none", detail))
    return items


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, db: Db, ctx: Ctx, info: SignedIn) -> HTMLResponse:
    counts = {"live": 0, "building": 0, "failed": 0, "stopped": 0}
    feed: list[DeploymentRow] = []
    visible = projects.list_projects(db, user=info.user)
    for project in visible:
        counts[project_status(db, project_id=project.id)] += 1
        recent = deployments.list_deployments(db, project_id=project.id, limit=FEED_SIZE)
        feed.extend(deployment_row(d, project.name) for d in recent)
    feed.sort(key=lambda row: row.created_at, reverse=True)
    return render(
        request,
        "overview.html",
        nav="overview",
        counts={**counts, "total": len(visible)},
        feed=feed[:FEED_SIZE],
        health=health_items(ctx),
    )
