"""`/settings`: change password; for admins, list, add and remove users; the version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from nanoscale.accounts import users
from nanoscale.accounts.sessions import SessionInfo
from nanoscale.dashboard import github_connection
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
from nanoscale.errors import Forbidden, NanoScaleError
from nanoscale.projects.service import count_owned_projects
from nanoscale.web_deps import Context, DbSession, client_ip

router = APIRouter(route_class=DashboardRoute)

NOTICES = {
    "password": "Your password was changed. Other sessions were signed out.",
    "user_added": "User added.",
    "user_removed": "User removed.",
}


def _page(
    request: Request,
    db: DbSession,
    ctx: Context,
    info: SessionInfo,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    gh_notice, gh_error = github_connection.notices(dict(request.query_params))
    context: dict[str, Any] = {
        "gh": github_connection.connection(db, ctx=ctx, user=info.user),
        "gh_notice": gh_notice,
        "gh_error": gh_error,
        "nav": "settings",
        "users": users.list_users(db) if info.user.is_admin else [],
        "pw_errors": {},
        "user_errors": {},
        "user_values": {},
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    context.update(extra)
    return render(request, "settings.html", status_code=status, **context)


def _admin(info: SessionInfo) -> None:
    if not info.user.is_admin:
        raise Forbidden("only admins can manage users", code="admin_required")


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, db: DbSession, ctx: Context, info: SignedIn) -> HTMLResponse:
    return _page(request, db, ctx, info)


@router.post("/settings/password", response_class=HTMLResponse)
def change_password(
    request: Request, db: DbSession, ctx: Context, info: SignedIn, form: Form
) -> Response:
    def page(exc: NanoScaleError) -> Response:
        return _page(request, db, ctx, info, exc.status, pw_errors=field_errors(exc))

    with rerender_on_error(db, page):
        users.change_password(
            db,
            user=info.user,
            current_password=str(form.get("current_password") or ""),
            new_password=str(form.get("new_password") or ""),
            keep_session_id=info.id,
            ip=client_ip(request),
            settings=ctx.settings,
        )
    return redirect("/settings?done=password")


@router.post("/settings/users", response_class=HTMLResponse)
def add_user(request: Request, db: DbSession, ctx: Context, info: SignedIn, form: Form) -> Response:
    _admin(info)
    username = form_text(form, "username")

    def page(exc: NanoScaleError) -> Response:
        values = {"username": username}
        errors = field_errors(exc)
        return _page(request, db, ctx, info, exc.status, user_errors=errors, user_values=values)

    with rerender_on_error(db, page):
        users.create_user(
            db,
            actor=info.user,
            username=username,
            password=str(form.get("password") or ""),
            is_admin=form.get("is_admin") == "1",
            ip=client_ip(request),
        )
    return redirect("/settings?done=user_added")


@router.post("/settings/users/{user_id}/delete", response_class=HTMLResponse)
def remove_user(
    request: Request, db: DbSession, ctx: Context, info: SignedIn, _form: Form, user_id: str
) -> Response:
    _admin(info)

    def page(exc: NanoScaleError) -> Response:
        return _page(
            request, db, ctx, info, exc.status, user_errors=field_errors(exc, whole_form=True)
        )

    with rerender_on_error(db, page):
        users.delete_user(
            db,
            actor=info.user,
            user_id=user_id,
            ip=client_ip(request),
            owned_projects=count_owned_projects,
        )
    return redirect("/settings?done=user_removed")
