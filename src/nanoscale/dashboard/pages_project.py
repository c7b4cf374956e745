"""`/projects/{id}` and its tabs (Overview, Deployments, Logs, Settings), one deployment's
page, and the steps partial htmx polls while a deployment runs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from nanoscale.dashboard.project_view import (
    deployment_context,
    load_project,
    release_log_context,
    settings_context,
)
from nanoscale.dashboard.templating import render
from nanoscale.dashboard.web import DashboardRoute, SignedIn
from nanoscale.web_deps import Context, DbSession

router = APIRouter(route_class=DashboardRoute)


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def overview_tab(
    request: Request, *, db: DbSession, ctx: Context, info: SignedIn, project_id: str
) -> HTMLResponse:
    view = load_project(db, ctx=ctx, user=info.user, project_id=project_id)
    context = view.context("overview")
    if view.rows:
        context.update(
            deployment_context(db, user=info.user, view=view, deployment_id=view.rows[0].id)
        )
    return render(request, "projects/tab_overview.html", **context)


@router.get("/projects/{project_id}/deployments", response_class=HTMLResponse)
def deployments_tab(
    request: Request, *, db: DbSession, ctx: Context, info: SignedIn, project_id: str
) -> HTMLResponse:
    view = load_project(db, ctx=ctx, user=info.user, project_id=project_id)
    return render(request, "projects/tab_deployments.html", **view.context("deployments"))


@router.get("/projects/{project_id}/logs", response_class=HTMLResponse)
def logs_tab(
    request: Request, *, db: DbSession, ctx: Context, info: SignedIn, project_id: str
) -> HTMLResponse:
    view = load_project(db, ctx=ctx, user=info.user, project_id=project_id)
    context = {
        **view.context("logs"),
        **release_log_context(db, ctx=ctx, user=info.user, view=view),
    }
    if view.rows:
        context.update(
            deployment_context(db, user=info.user, view=view, deployment_id=view.rows[0].id)
        )
    return render(request, "projects/tab_logs.html", **context)


@router.get("/projects/{project_id}/settings", response_class=HTMLResponse)
def settings_tab(
    request: Request, *, db: DbSession, ctx: Context, info: SignedIn, project_id: str
) -> HTMLResponse:
    view = load_project(db, ctx=ctx, user=info.user, project_id=project_id)
    context = {**view.context("settings"), **settings_context(db, ctx, view.project)}
    if request.query_params.get("saved"):
        context["notice"] = "Settings saved. They apply from the next deployment."
    return render(request, "projects/tab_settings.html", **context)


@router.get("/projects/{project_id}/deployments/{deployment_id}", response_class=HTMLResponse)
def deployment_page(
    request: Request,
    *,
    db: DbSession,
    ctx: Context,
    info: SignedIn,
    project_id: str,
    deployment_id: str,
) -> HTMLResponse:
    view = load_project(db, ctx=ctx, user=info.user, project_id=project_id)
    context = {
        **view.context("deployments"),
        **deployment_context(db, user=info.user, view=view, deployment_id=deployment_id),
    }
    return render(request, "projects/deployment.html", **context)


@router.get("/projects/{project_id}/deployments/{deployment_id}/steps", response_class=HTMLResponse)
def steps_partial(
    request: Request,
    *,
    db: DbSession,
    ctx: Context,
    info: SignedIn,
    project_id: str,
    deployment_id: str,
) -> HTMLResponse:
    view = load_project(db, ctx=ctx, user=info.user, project_id=project_id)
    context = {
        "project": view.project,
        **deployment_context(db, user=info.user, view=view, deployment_id=deployment_id),
    }
    response = render(request, "partials/steps.html", **context)
    if not context["latest_active"]:
        # Finished: reload once so the badge, current release and history catch up.
        response.headers["HX-Refresh"] = "true"
    return response
