"""Request plumbing shared by the dashboard pages: the signed-in session, CSRF on forms,
and turning errors into pages (HTML, never the API's JSON).

A page whose service call fails re-renders its own form with the error: it wraps the call in
`rerender_on_error(db, page)`, and `DashboardRoute` rolls the request's session back before
`page(error)` renders (so nothing of the failed change is kept, and the page reads what is
really stored). Any other `NanoScaleError` becomes the generic error page."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from nanoscale.accounts import service as accounts
from nanoscale.accounts.csrf import CSRF_FORM_FIELD, CSRF_HEADER, check_csrf
from nanoscale.accounts.sessions import SessionInfo
from nanoscale.dashboard.templating import render
from nanoscale.errors import NanoScaleError, field_errors_of
from nanoscale.web_deps import Context, DbSession, get_context, request_origin, session_cookie

# Login and setup happen before a session exists: their forms carry a token that must match
# this cookie (double submit), on top of the Origin check.
PRE_SESSION_COOKIE = "nanoscale_form"


class LoginRequired(Exception):
    """Raised by `signed_in` when there is no live session; answered with a redirect."""


class FormRejected(Exception):
    """A service call failed; `DashboardRoute` answers with `page(error)` after a rollback."""

    def __init__(
        self, error: NanoScaleError, db: Session, page: Callable[[NanoScaleError], Response]
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.db = db
        self.page = page


@contextmanager
def rerender_on_error(db: Session, page: Callable[[NanoScaleError], Response]) -> Iterator[None]:
    """Turn a `NanoScaleError` raised inside into the page `page(error)` renders."""
    try:
        yield
    except NanoScaleError as exc:
        raise FormRejected(exc, db, page) from exc


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


class DashboardRoute(APIRoute):
    """Maps LoginRequired to a redirect to /login, FormRejected to its page (after rolling the
    session back) and any other NanoScaleError to the error page."""

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
            except FormRejected as rejected:
                return _rejected_page(request, rejected)
            except NanoScaleError as exc:
                return error_page(request, exc)

        return handle


def _rejected_page(request: Request, rejected: FormRejected) -> Response:
    rejected.db.rollback()  # nothing of the failed change is kept
    try:
        return rejected.page(rejected.error)
    except NanoScaleError as exc:  # e.g. the project vanished meanwhile
        return error_page(request, exc)
    finally:
        rejected.db.close()  # ends the read the page made (on SQLite it holds the lock)


def error_page(request: Request, exc: NanoScaleError) -> HTMLResponse:
    titles = {403: "Not allowed", 404: "Not found", 409: "Conflict"}
    title = titles.get(exc.status, "Something went wrong")
    return render(request, "error.html", status_code=exc.status, title=title, message=exc.message)


def session_token(request: Request) -> str:
    return session_cookie(request, settings=get_context(request).settings) or ""


def optional_session(request: Request, db: DbSession, ctx: Context) -> SessionInfo | None:
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


async def checked_form(request: Request, ctx: Context, info: SignedIn) -> FormData:
    """The posted form, after the session's CSRF token and the Origin were verified (403)."""
    form = await request.form()
    presented = form.get(CSRF_FORM_FIELD) or request.headers.get(CSRF_HEADER)
    check_csrf(
        expected=info.csrf_token,
        presented=presented if isinstance(presented, str) else None,
        **request_origin(request, ctx.settings),
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


async def checked_pre_session_form(request: Request, ctx: Context) -> FormData:
    form = await request.form()
    presented = form.get(CSRF_FORM_FIELD)
    check_csrf(
        expected=request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(32),
        presented=presented if isinstance(presented, str) else None,
        **request_origin(request, ctx.settings),
    )
    return form


PreSessionForm = Annotated[FormData, Depends(checked_pre_session_form)]


def field_errors(exc: NanoScaleError, *, whole_form: bool = False) -> dict[str, str]:
    """A service error as {field: message} for a form: under the field it names (any env var
    problem under the env editor), above the form when it names none or `whole_form`."""
    errors: dict[str, str] = {}
    for problem in field_errors_of(exc):  # several when the service reports all at once
        field = "_form" if whole_form or not problem.field else problem.field
        if field.startswith("env_vars"):
            field = "env_vars"
        errors.setdefault(field, problem.message)
    return errors


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
