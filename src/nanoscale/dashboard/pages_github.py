"""GitHub on the dashboard: connect and disconnect (from `/settings`), the repository list
partial and sync button of the New Project picker, and a project's Deliveries tab."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from nanoscale.dashboard.github_connection import error_text
from nanoscale.dashboard.github_picker import PickerQuery, repository_page
from nanoscale.dashboard.project_view import load_project
from nanoscale.dashboard.templating import render
from nanoscale.dashboard.web import DashboardRoute, Form, SignedIn, form_text, redirect
from nanoscale.deployments import service as deployments
from nanoscale.errors import InvalidInput, NanoScaleError
from nanoscale.github import connect, reconciler, service, sync
from nanoscale.web_deps import Context, DbSession, client_ip

router = APIRouter(route_class=DashboardRoute)


@router.post("/settings/github/connect", response_class=HTMLResponse)
def connect_github(
    request: Request, db: DbSession, ctx: Context, info: SignedIn, form: Form
) -> Response:
    back = form_text(form, "back") if form_text(form, "back") == "/projects/new" else "/settings"
    try:
        url = connect.start(db, ctx=ctx, user=info.user, session_id=info.id)
    except NanoScaleError as exc:
        return redirect(f"{back}?{urlencode({'github_error': exc.code})}")
    return redirect(url)  # GitHub's authorize page; it comes back through the callback


@router.post("/settings/github/disconnect", response_class=HTMLResponse)
def disconnect_github(
    request: Request, db: DbSession, ctx: Context, info: SignedIn, form: Form
) -> Response:
    if form.get("confirm") != "disconnect":
        return redirect("/settings?github_error=github_disconnect_unconfirmed")
    service.disconnect(db, ctx=ctx, user=info.user, ip=client_ip(request))
    return redirect("/settings?github=disconnected")


@router.get("/projects/new/github/repos", response_class=HTMLResponse)
def repository_list(request: Request, db: DbSession, ctx: Context, info: SignedIn) -> Response:
    """The picker's repository list (htmx swaps it in as you type and page)."""
    query = PickerQuery.parse(request.query_params)
    if query.installation_id is None:
        raise InvalidInput("choose an installation", field="installation_id")
    context = repository_page(
        db, ctx=ctx, user=info.user, query=query, installation_id=query.installation_id
    )
    return render(request, "projects/_github_repos.html", **context)


@router.post("/projects/new/github/sync", response_class=HTMLResponse)
def sync_repositories(
    request: Request, db: DbSession, ctx: Context, info: SignedIn, form: Form
) -> Response:
    query = PickerQuery.parse(form)
    params = {"source": "github"}
    if query.installation_id is not None:
        try:
            sync.sync_repositories(
                db, ctx=ctx, user=info.user, installation_id=query.installation_id
            )
            params.update(installation_id=str(query.installation_id), synced="1")
        except NanoScaleError as exc:
            params["github_error"] = exc.code
    return redirect(f"/projects/new?{urlencode(params)}")


@router.get("/projects/{project_id}/deliveries", response_class=HTMLResponse)
def deliveries_tab(
    request: Request, *, db: DbSession, ctx: Context, info: SignedIn, project_id: str
) -> HTMLResponse:
    view = load_project(db, ctx=ctx, user=info.user, project_id=project_id)
    rows = service.list_deliveries(db, user=info.user, project_id=project_id, limit=50)
    return render(request, "projects/tab_deliveries.html", deliveries=rows,
                  **view.context("deliveries"))  # fmt: skip


@router.post("/projects/{project_id}/github/check", response_class=HTMLResponse)
def check_for_commits(
    request: Request, *, db: DbSession, ctx: Context, info: SignedIn, _form: Form, project_id: str
) -> Response:
    """The reconciler for one project: deploy the branch head GitHub has now unless it was
    already requested (covers a push whose delivery never arrived)."""
    check = reconciler.check_project(db, ctx=ctx, user=info.user, project_id=project_id)
    if check.deployment_id is not None:
        return redirect(f"/projects/{project_id}/deployments/{check.deployment_id}")
    return redirect(f"/projects/{project_id}?{urlencode({'checked': check.branch})}")


@router.get("/projects/{project_id}/watch")
def deployment_watch(
    request: Request, *, db: DbSession, info: SignedIn, project_id: str
) -> Response:
    """Polled by a GitHub project's overview: a push started a deployment the page does not
    show yet -> htmx refreshes the page (no reload by the user); otherwise 204, no swap."""
    latest = deployments.list_for_project(db, user=info.user, project_id=project_id, limit=1)
    known = request.query_params.get("known", "")
    if latest and latest[0].id != known:
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    return Response(status_code=204)


__all__ = ["error_text", "router"]
