"""`/settings`: change password; for admins, list, add and remove users; the version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from nanoscale.accounts import tokens, users
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
from nanoscale.errors import Forbidden, InvalidInput, NanoScaleError
from nanoscale.github import health, manifest
from nanoscale.github.app_config import app_source
from nanoscale.projects import git_hosts
from nanoscale.projects.service import count_owned_projects
from nanoscale.web_deps import Context, DbSession, client_ip, get_context

router = APIRouter(route_class=DashboardRoute)

NOTICES = {
    "password": "Your password was changed. Other sessions were signed out.",
    "user_added": "User added.",
    "user_removed": "User removed.",
    "git_host_added": "Git host allowed. New projects can use it now.",
    "git_host_removed": "Git host removed.",
    "token_revoked": "API token revoked. Requests with it are refused from now on.",
}
TOKEN_LIFETIMES = {"": "Never", "30": "30 days", "90": "90 days", "365": "1 year"}


def _page(
    request: Request, db: DbSession, info: SessionInfo, status: int = 200, **extra: Any
) -> HTMLResponse:
    gh_notice, gh_error = github_connection.notices(dict(request.query_params))
    admin = info.user.is_admin
    ctx = get_context(request)
    settings = ctx.settings
    context: dict[str, Any] = {
        "gh": github_connection.connection(db, ctx=ctx, user=info.user),
        "gh_notice": gh_notice,
        "gh_error": gh_error,
        "nav": "settings",
        "users": users.list_users(db) if admin else [],
        "env_git_hosts": settings.git_allowed_hosts if admin else [],
        "added_git_hosts": git_hosts.added_hosts(db) if admin else [],
        "host_errors": {},
        "host_values": {},
        "tokens": tokens.list_tokens(db, user=info.user),
        "token_lifetimes": TOKEN_LIFETIMES,
        "token_errors": {},
        "token_values": {},
        "created_token": None,
        "pw_errors": {},
        "user_errors": {},
        "user_values": {},
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "github_app_source": app_source(get_context(request)),
    }
    context.update(extra)
    return render(request, "settings.html", status_code=status, **context)


def _admin(info: SessionInfo) -> None:
    if not info.user.is_admin:
        raise Forbidden("only admins can manage users", code="admin_required")


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, db: DbSession, info: SignedIn) -> HTMLResponse:
    return _page(request, db, info)


@router.post("/settings/password", response_class=HTMLResponse)
def change_password(
    request: Request, db: DbSession, ctx: Context, info: SignedIn, form: Form
) -> Response:
    def page(exc: NanoScaleError) -> Response:
        return _page(request, db, info, exc.status, pw_errors=field_errors(exc))

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
def add_user(request: Request, db: DbSession, info: SignedIn, form: Form) -> Response:
    _admin(info)
    username = form_text(form, "username")

    def page(exc: NanoScaleError) -> Response:
        values = {"username": username}
        errors = field_errors(exc)
        return _page(request, db, info, exc.status, user_errors=errors, user_values=values)

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
    request: Request, db: DbSession, info: SignedIn, _form: Form, user_id: str
) -> Response:
    _admin(info)

    def page(exc: NanoScaleError) -> Response:
        return _page(request, db, info, exc.status, user_errors=field_errors(exc, whole_form=True))

    with rerender_on_error(db, page):
        users.delete_user(
            db,
            actor=info.user,
            user_id=user_id,
            ip=client_ip(request),
            owned_projects=count_owned_projects,
        )
    return redirect("/settings?done=user_removed")


@router.post("/settings/git-hosts", response_class=HTMLResponse)
def add_git_host(
    request: Request, db: DbSession, ctx: Context, info: SignedIn, form: Form
) -> Response:
    host = form_text(form, "host")

    def page(exc: NanoScaleError) -> Response:
        errors, values = field_errors(exc), {"host": host}
        return _page(request, db, info, exc.status, host_errors=errors, host_values=values)

    with rerender_on_error(db, page):
        git_hosts.add_host(
            db, actor=info.user, settings=ctx.settings, host=host, ip=client_ip(request)
        )
    return redirect("/settings?done=git_host_added")


@router.post("/settings/git-hosts/{host_id}/delete", response_class=HTMLResponse)
def remove_git_host(
    request: Request, db: DbSession, info: SignedIn, _form: Form, host_id: str
) -> Response:
    git_hosts.remove_host(db, actor=info.user, host_id=host_id, ip=client_ip(request))
    return redirect("/settings?done=git_host_removed")


@router.post("/settings/tokens", response_class=HTMLResponse)
def create_token(request: Request, db: DbSession, info: SignedIn, form: Form) -> Response:
    """Answers with the page itself (no redirect): the secret exists only in this response."""
    name, lifetime = form_text(form, "name"), form_text(form, "expires_in_days")

    def page(exc: NanoScaleError) -> Response:
        errors, values = field_errors(exc), {"name": name, "expires_in_days": lifetime}
        return _page(request, db, info, exc.status, token_errors=errors, token_values=values)

    with rerender_on_error(db, page):
        if lifetime not in TOKEN_LIFETIMES:
            raise InvalidInput("choose one of the offered lifetimes", field="expires_in_days")
        created = tokens.create_token(
            db,
            user=info.user,
            name=name,
            expires_in_days=int(lifetime) if lifetime else None,
            ip=client_ip(request),
        )
    response = _page(request, db, info, 201, created_token=created)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/tokens/{token_id}/delete", response_class=HTMLResponse)
def revoke_token(
    request: Request, db: DbSession, info: SignedIn, _form: Form, token_id: str
) -> Response:
    tokens.revoke_token(db, user=info.user, token_id=token_id, ip=client_ip(request))
    return redirect("/settings?done=token_revoked")


@router.post("/settings/github/health", response_class=HTMLResponse)
def check_github(
    request: Request, db: DbSession, ctx: Context, info: SignedIn, _form: Form
) -> Response:
    """The GitHub health panel: a plain form; htmx swaps in only the panel (`hx-select`)."""
    checks = health.check_github(db, ctx=ctx, user=info.user)
    return _page(request, db, info, github_health=checks)


@router.post("/settings/github/app", response_class=HTMLResponse)
def create_github_app(
    request: Request, db: DbSession, ctx: Context, info: SignedIn, form: Form
) -> Response:
    """Prepare the manifest; the page then posts it to GitHub from the admin's browser."""
    _admin(info)
    organization = form_text(form, "organization") or None
    status_reporting = form_text(form, "status_reporting") == "1"  # an unchecked box is absent

    def page(exc: NanoScaleError) -> Response:
        return _page(request, db, info, exc.status, github_app_errors=field_errors(exc))

    with rerender_on_error(db, page):
        prepared = manifest.start(db, ctx=ctx, user=info.user, organization=organization,
                                  name=None, status_reporting=status_reporting)  # fmt: skip
    return _page(request, db, info, github_manifest_form=prepared)
