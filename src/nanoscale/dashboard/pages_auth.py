"""/setup (first admin), /login and /logout."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from nanoscale.accounts import service as accounts
from nanoscale.dashboard.templating import render
from nanoscale.dashboard.web import (
    PRE_SESSION_COOKIE,
    DashboardRoute,
    Form,
    PreSessionForm,
    SignedIn,
    field_errors,
    form_text,
    optional_session,
    pre_session_token,
    redirect,
    session_token,
    set_pre_session_cookie,
)
from nanoscale.errors import NanoScaleError, RateLimited
from nanoscale.settings import Settings
from nanoscale.web_deps import (
    Context,
    DbSession,
    clear_session_cookie,
    client_ip,
    device_cookie,
    set_session_cookie,
)

router = APIRouter(route_class=DashboardRoute)


def _safe_next(value: str) -> str:
    """Only same-site paths: `//host` or a scheme would make /login an open redirect."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _start_session(response: Response, result: accounts.LoginResult, settings: Settings) -> None:
    set_session_cookie(response, settings=settings, result=result)
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")


def _pre_session_page(
    request: Request, ctx: Context, name: str, status: int = 200, **values: object
) -> HTMLResponse:
    token = pre_session_token(request)
    response = render(request, name, status_code=status, **values)
    set_pre_session_cookie(response, token, secure=ctx.settings.cookies_secure)
    return response


@router.get("/setup", response_class=HTMLResponse)
def setup_page(request: Request, db: DbSession, ctx: Context) -> Response:
    if not accounts.needs_setup(db):
        return redirect("/login")
    return _pre_session_page(request, ctx, "auth/setup.html", username="", errors={})


@router.post("/setup", response_class=HTMLResponse)
def setup_submit(request: Request, db: DbSession, ctx: Context, form: PreSessionForm) -> Response:
    username = form_text(form, "username")
    password = str(form.get("password") or "")
    if password != str(form.get("password_confirm") or ""):
        errors = {"password_confirm": "the passwords do not match"}
        return _pre_session_page(
            request, ctx, "auth/setup.html", 422, username=username, errors=errors
        )
    try:
        result = accounts.setup_admin(
            db, settings=ctx.settings, username=username, password=password, ip=client_ip(request)
        )
    except NanoScaleError as exc:
        if exc.code == "setup_done":
            return redirect("/login")
        return _pre_session_page(
            request, ctx, "auth/setup.html", exc.status, username=username, errors=field_errors(exc)
        )
    response = redirect("/")
    _start_session(response, result, ctx.settings)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, db: DbSession, ctx: Context, next: str = "/") -> Response:
    if accounts.needs_setup(db):
        return redirect("/setup")
    if optional_session(request, db, ctx) is not None:
        return redirect(_safe_next(next))
    return _pre_session_page(
        request, ctx, "auth/login.html", username="", next=_safe_next(next), errors={}
    )


@router.post("/login", response_class=HTMLResponse)
def login_submit(request: Request, db: DbSession, ctx: Context, form: PreSessionForm) -> Response:
    username = form_text(form, "username")
    target = _safe_next(form_text(form, "next") or "/")
    try:
        result = accounts.login(
            db,
            settings=ctx.settings,
            username=username,
            password=str(form.get("password") or ""),
            ip=client_ip(request),
            previous_token=session_token(request) or None,
            keyring=ctx.keyring,
            device_token=device_cookie(request, settings=ctx.settings),
        )
    except NanoScaleError as exc:
        message = exc.message  # says minutes, and warns on the last attempt before a lockout
        page = _pre_session_page(
            request, ctx, "auth/login.html", exc.status, username=username, next=target,
            errors={"_form": message},
        )  # fmt: skip
        if isinstance(exc, RateLimited):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    response = redirect(target)
    _start_session(response, result, ctx.settings)
    return response


@router.post("/logout")
def logout(request: Request, db: DbSession, ctx: Context, info: SignedIn, _form: Form) -> Response:
    accounts.logout(db, token=session_token(request), user=info.user, ip=client_ip(request))
    response = redirect("/login")
    clear_session_cookie(response, settings=ctx.settings)
    return response
