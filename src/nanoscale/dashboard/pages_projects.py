"""`/projects` (list) and `/projects/new` (create, then the first deployment)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from nanoscale.accounts.sessions import SessionInfo
from nanoscale.dashboard import forms, github_connection, github_picker
from nanoscale.dashboard.presets import COMMAND_FIELDS, PRESETS
from nanoscale.dashboard.templating import render
from nanoscale.dashboard.web import (
    DashboardRoute,
    Form,
    SignedIn,
    field_errors,
    form_text,
    redirect,
    rerender_on_error,
)
from nanoscale.deployments import service
from nanoscale.deployments.reads.status import project_summaries
from nanoscale.errors import InvalidInput, NanoScaleError
from nanoscale.github import projects as github_projects
from nanoscale.projects import git_hosts
from nanoscale.web_deps import Context, DbSession, client_ip

router = APIRouter(route_class=DashboardRoute)
SHOWN_IN_GITHUB_MODE = {"name", "root_directory", "env_vars", "github_source.selected_branch",
                        *COMMAND_FIELDS}  # fmt: skip


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
    github: dict[str, Any] | None = None,
) -> HTMLResponse:
    gh_notice, gh_error = github_connection.notices(dict(request.query_params))
    hosts = git_hosts.effective_settings(db, ctx.settings).git_allowed_hosts
    return render(
        request, "projects/new.html", status_code=status, nav="projects", values=values,
        errors=errors, presets=PRESETS, env_rows=env_rows, git_hosts=hosts,
        mode="github" if github else "manual", gh_notice=gh_notice, gh_error=gh_error,
        gh_back="/projects/new", **(github or {}),
    )  # fmt: skip


def _github(db: DbSession, ctx: Context, info: SessionInfo, params: Any) -> dict[str, Any]:
    query = github_picker.PickerQuery.parse(params)
    return github_picker.picker_context(db, ctx=ctx, user=info.user, query=query)


@router.get("/projects/new", response_class=HTMLResponse)
def new_project_page(request: Request, db: DbSession, ctx: Context, info: SignedIn) -> HTMLResponse:
    if request.query_params.get("source") == "github":
        github = _github(db, ctx, info, request.query_params)
        return _new_page(request, db, ctx, {}, {}, github=github)
    return _new_page(request, db, ctx, {"branch": "main"}, {})


@router.post("/projects/new", response_class=HTMLResponse)
def create_project(
    request: Request, db: DbSession, ctx: Context, info: SignedIn, form: Form
) -> Response:
    values = forms.form_values(form)
    if form.get("source") == "github":
        return _create_from_github(request, db=db, ctx=ctx, info=info, form=form, values=values)

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


def _create_from_github(
    request: Request,
    *,
    db: DbSession,
    ctx: Context,
    info: SessionInfo,
    form: FormData,
    values: dict[str, str],
) -> Response:
    ids = {"installation_id": form_text(form, "installation_id"),
           "repo_id": form_text(form, "repo_id")}  # fmt: skip

    def page(exc: NanoScaleError) -> Response:
        github = _github(db, ctx, info, ids)
        errors = field_errors(exc)
        if not errors.keys() & SHOWN_IN_GITHUB_MODE:  # e.g. the repository: above the form
            errors = {"_form": exc.message}
        return _new_page(request, db, ctx, values, errors, status=exc.status,
                         env_rows=forms.env_rows(form), github=github)  # fmt: skip

    with rerender_on_error(db, page):
        env_problems: list[InvalidInput] = []
        env = forms.env_patch(form, problems=env_problems)
        if env_problems:
            raise env_problems[0]
        data = forms.github_project_create(values, env, **ids)
        project, _ = github_projects.create_and_deploy(
            db, ctx=ctx, owner=info.user, data=data, ip=client_ip(request)
        )
    return redirect(f"/projects/{project.id}")
