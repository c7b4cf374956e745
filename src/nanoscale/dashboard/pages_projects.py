"""`/projects` (list) and `/projects/new` (create, then the first deployment)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from nanoscale.dashboard import forms
from nanoscale.dashboard.presets import PRESETS
from nanoscale.dashboard.templating import render
from nanoscale.dashboard.web import (
    DashboardRoute,
    Form,
    SignedIn,
    field_errors,
    redirect,
    rerender_on_error,
)
from nanoscale.deployments import service
from nanoscale.deployments.reads.status import project_summaries
from nanoscale.errors import InvalidInput, NanoScaleError
from nanoscale.projects import git_hosts
from nanoscale.web_deps import Context, DbSession, client_ip

router = APIRouter(route_class=DashboardRoute)


@router.get("/projects", response_class=HTMLResponse)
def project_list(request: Request, db: DbSession, ctx: Context, info: SignedIn) -> HTMLResponse:
    rows = project_summaries(db, user=info.user, ctx=ctx)
    notice = "Project deleted." if request.query_params.get("deleted") else None
    return render(request, "projects/list.html", nav="projects", rows=rows, notice=notice)


def _new_page(
    request: Request,
    db: DbSession,
    ctx: Context,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status: int = 200,
    env_rows: forms.EnvRows | None = None,
) -> HTMLResponse:
    hosts = git_hosts.effective_settings(db, ctx.settings).git_allowed_hosts
    return render(
        request, "projects/new.html", status_code=status, nav="projects", values=values,
        errors=errors, presets=PRESETS, env_rows=env_rows, git_hosts=hosts,
    )  # fmt: skip


@router.get("/projects/new", response_class=HTMLResponse)
def new_project_page(request: Request, db: DbSession, ctx: Context, info: SignedIn) -> HTMLResponse:
    return _new_page(request, db, ctx, {"branch": "main"}, {})


@router.post("/projects/new", response_class=HTMLResponse)
def create_project(
    request: Request, db: DbSession, ctx: Context, info: SignedIn, form: Form
) -> Response:
    values = forms.form_values(form)

    env_problems: list[InvalidInput] = []  # reported with the service's, all at once

    def page(exc: NanoScaleError) -> Response:
        errors, rows = field_errors(exc), forms.env_rows(form)
        return _new_page(request, db, ctx, values, errors, status=exc.status, env_rows=rows)

    with rerender_on_error(db, page):
        data = forms.project_create(values, forms.env_patch(form, problems=env_problems), form)
        project, _ = service.create_and_deploy_project(
            db, ctx=ctx, owner=info.user, data=data, ip=client_ip(request), pending=env_problems
        )
    return redirect(f"/projects/{project.id}")
