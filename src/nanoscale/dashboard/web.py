"""Request plumbing shared by the dashboard pages: the signed-in session, CSRF on forms,
and turning errors into pages (HTML, never the API's JSON)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.datastructures import FormData

from nanoscale.accounts import service as accounts
from nanoscale.accounts.csrf import CSRF_FORM_FIELD, CSRF_HEADER, check_csrf
from nanoscale.accounts.sessions import SessionInfo
from nanoscale.dashboard.templating import render
from nanoscale.errors import NanoScaleError
from nanoscale.web_deps import Context, DbSession, get_context, session_cookie

# Login and setup happen before a session exists: their forms carry a token that must match
# this cookie (double submit), on top of the Origin check.
PRE_SESSION_COOKIE = "nanoscale_form"

# Commits before the response is sent, so a redirect never outruns its own write.
Db = DbSession
Ctx = Context


class LoginRequired(Exception):
    """Raised by `signed_in` when there is no live session; answered with a redirect."""


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


class DashboardRoute(APIRoute):
    """Maps LoginRequired to a redirect to /login and any NanoScaleError to an HTML page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = "/login?next=" + quote(request.url.path, safe="/")
                if request.headers.get("HX-Request"):
                    return Response(status_code=204, headers={"HX-Redirect": target})
                return redirect(target)
            except NanoScaleError as exc:
                return error_page(request, exc)

        return handle


def error_page(request: Request, exc: NanoScaleError) -> HTMLResponse:
    titles = {403: "Not allowed", 404: "Not found", 409: "Conflict"}
    title = titles.get(exc.status, "Something went wrong")
    return render(request, "error.html", status_code=exc.status, title=title, message=exc.message)


def session_token(request: Request) -> str:
    return session_cookie(request, settings=get_context(request).settings) or ""


def optional_session(request: Request, db: Db, ctx: Ctx) -> SessionInfo | None:
    info = accounts.resolve_session(db, settings=ctx.settings, token=session_token(request))
    if info is not None:
        request.state.user = info.user
        request.state.csrf_token = info.csrf_token
    return info


def signed_in(info: Annotated[SessionInfo | None, Depends(optional_session)]) -> SessionInfo:
    if info is None:
        raise LoginRequired
    return info


SignedIn = Annotated[SessionInfo, Depends(signed_in)]


async def checked_form(request: Request, ctx: Ctx, info: SignedIn) -> FormData:
    """The posted form, after the session's CSRF token and the Origin were verified (403)."""
    form = await request.form()
    presented = form.get(CSRF_FORM_FIELD) or request.headers.get(CSRF_HEADER)
    check_csrf(
        expected=info.csrf_token,
        presented=presented if isinstance(presented, str) else None,
        origin=request.headers.get("origin"),
        referer=request.headers.get("referer"),
        public_base_url=ctx.settings.resolved_public_base_url,
        request_url=str(request.base_url),
    )
    return form


Form = Annotated[FormData, Depends(checked_form)]


def pre_session_token(request: Request) -> str:
    """The login/setup form token: the cookie's value, or a fresh one to set."""
    token = request.cookies.get(PRE_SESSION_COOKIE, "")
    if len(token) < 32:
        token = secrets.token_urlsafe(32)
    request.state.csrf_token = token
    return token


def set_pre_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(
        PRE_SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/"
    )


async def checked_pre_session_form(request: Request, ctx: Ctx) -> FormData:
    form = await request.form()
    presented = form.get(CSRF_FORM_FIELD)
    check_csrf(
        expected=request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(32),
        presented=presented if isinstance(presented, str) else None,
        origin=request.headers.get("origin"),
        referer=request.headers.get("referer"),
        public_base_url=ctx.settings.resolved_public_base_url,
        request_url=str(request.base_url),
    )
    return form


PreSessionForm = Annotated[FormData, Depends(checked_pre_session_form)]


def field_errors(exc: NanoScaleError) -> dict[str, str]:
    """A service error as {field: message}; errors without a field show above the form."""
    return {exc.field or "_form": exc.message}


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
