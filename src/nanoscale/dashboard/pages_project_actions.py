"""Project actions posted from its pages: redeploy, roll back, cancel, save settings, delete."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from nanoscale.dashboard import forms
from nanoscale.dashboard.project_view import load_project, settings_context
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
from nanoscale.errors import NanoScaleError
from nanoscale.github import projects as github_projects
from nanoscale.projects import service as projects
from nanoscale.web_deps import Context, DbSession, client_ip

router = APIRouter(route_class=DashboardRoute)


def _overview_with_error(
    request: Request, *, db: DbSession, ctx: Context, info: SignedIn, project_id: str
) -> Callable[[NanoScaleError], Response]:
    def page(exc: NanoScaleError) -> Response:
        view = load_project(db, ctx=ctx, user=info.user, project_id=project_id)
        context = view.context("overview")
        context["errors"] = field_errors(exc, whole_form=True)
        return render(request, "projects/tab_overview.html", status_code=exc.status, **context)

    return page


@router.post("/projects/{project_id}/redeploy")
def redeploy(
    request: Request, *, db: DbSession, info: SignedIn, _form: Form, project_id: str
) -> Response:
    deployment = service.redeploy(db, user=info.user, project_id=project_id, commit_sha=None)
    return redirect(f"/projects/{deployment.project_id}/deployments/{deployment.id}")


@router.post("/projects/{project_id}/rollback")
def rollback(
    request: Request, *, db: DbSession, ctx: Context, info: SignedIn, form: Form, project_id: str
) -> Response:
    page = _overview_with_error(request, db=db, ctx=ctx, info=info, project_id=project_id)
    with rerender_on_error(db, page):
        deployment = service.rollback(
            db,
            user=info.user,
            project_id=project_id,
            deployment_id=form_text(form, "deployment_id"),
        )
    return redirect(f"/projects/{deployment.project_id}/deployments/{deployment.id}")


@router.post("/projects/{project_id}/deployments/{deployment_id}/cancel")
def cancel(
    request: Request,
    *,
    db: DbSession,
    info: SignedIn,
    _form: Form,
    project_id: str,
    deployment_id: str,
) -> Response:
    deployment = service.cancel(db, user=info.user, deployment_id=deployment_id)
    return redirect(f"/projects/{deployment.project_id}/deployments/{deployment.id}")


@router.post("/projects/{project_id}/settings", response_class=HTMLResponse)
def save_settings(
    request: Request, *, db: DbSession, ctx: Context, info: SignedIn, form: Form, project_id: str
) -> Response:
    values = forms.form_values(form)

    def page(exc: NanoScaleError) -> Response:
        view = load_project(db, ctx=ctx, user=info.user, project_id=project_id)
        context = {**view.context("settings"), **settings_context(db, ctx, view.project)}
        env_rows = forms.env_rows(form, existing=context["env_keys"])
        context.update(values=values, errors=field_errors(exc), env_rows=env_rows)
        return render(request, "projects/tab_settings.html", status_code=exc.status, **context)

    with rerender_on_error(db, page):
        data = forms.project_update(values, forms.env_patch(form), form)
        projects.update_project(
            db, ctx=ctx, user=info.user, project_id=project_id, data=data, ip=client_ip(request)
        )
    if form_text(form, "then") == "redeploy":
        deployment = service.redeploy(db, user=info.user, project_id=project_id, commit_sha=None)
        return redirect(f"/projects/{project_id}/deployments/{deployment.id}")
    return redirect(f"/projects/{project_id}/settings?saved=1")


@router.get("/projects/{project_id}/delete")
def delete_reloaded(project_id: str) -> Response:
    """A reload of the page a refused delete answered with: back to the form, not a 405."""
    return redirect(f"/projects/{project_id}/settings#delete")


@router.post("/projects/{project_id}/delete", response_class=HTMLResponse)
def delete(
    request: Request, *, db: DbSession, ctx: Context, info: SignedIn, form: Form, project_id: str
) -> Response:
    view = load_project(db, ctx=ctx, user=info.user, project_id=project_id)
    if form_text(form, "confirm_name") != view.project.name:
        context = {**view.context("settings"), **settings_context(db, ctx, view.project)}
        context["delete_errors"] = {"confirm_name": "type the project's name exactly to delete it"}
        return render(request, "projects/tab_settings.html", status_code=422, **context)
    # Through the GitHub service: a GitHub project's repository hook goes with it.
    github_projects.delete_project(
        db, ctx=ctx, user=info.user, project_id=project_id, ip=client_ip(request)
    )
    return redirect("/projects?deleted=1")
