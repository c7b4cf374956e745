"""Request dependencies shared by the JSON API and the dashboard: the app context, a database
session per request, the client's address and the session cookie. Neither layer owns them, so
neither imports the other for them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, TypedDict

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from nanoscale.accounts.devices import DEVICE_COOKIE_SECONDS, device_cookie_name
from nanoscale.accounts.service import LoginResult
from nanoscale.accounts.sessions import session_cookie_name
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.settings import Settings


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.context
    return ctx


def get_db(request: Request) -> Iterator[Session]:
    """A session per request; commits when the handler returns without error."""
    with session_scope(get_context(request).sessions) as session:
        yield session


# scope="function": commit (or roll back) before the response is sent, so a client never
# sees success for a change that then fails to commit.
DbSession = Annotated[Session, Depends(get_db, scope="function")]
Context = Annotated[AppContext, Depends(get_context)]


class RequestOrigin(TypedDict):
    """What the CSRF origin check compares (`accounts.csrf.check_origin`'s arguments): the
    origin the request claims and the origins this server answers as."""

    origin: str | None
    referer: str | None
    public_base_url: str
    request_url: str


def request_origin(request: Request, settings: Settings) -> RequestOrigin:
    return RequestOrigin(
        origin=request.headers.get("origin"),
        referer=request.headers.get("referer"),
        public_base_url=settings.resolved_public_base_url,
        request_url=str(request.base_url),
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(client_ip)]


def session_cookie(request: Request, *, settings: Settings) -> str | None:
    """The session cookie's value, read only under the name these settings use."""
    return request.cookies.get(session_cookie_name(secure=settings.cookies_secure))


def set_session_cookie(response: Response, *, settings: Settings, result: LoginResult) -> None:
    response.set_cookie(
        session_cookie_name(secure=settings.cookies_secure),
        result.token,
        expires=result.session.expires_at,
        path="/",
        secure=settings.cookies_secure,
        httponly=True,
        samesite="lax",
    )
    if result.device_token:
        response.set_cookie(
            device_cookie_name(secure=settings.cookies_secure),
            result.device_token,
            max_age=DEVICE_COOKIE_SECONDS,
            path="/",
            secure=settings.cookies_secure,
            httponly=True,
            samesite="lax",
        )


def device_cookie(request: Request, *, settings: Settings) -> str | None:
    """The known-device cookie's value (accounts/devices.py); it outlives logouts."""
    return request.cookies.get(device_cookie_name(secure=settings.cookies_secure))


def clear_session_cookie(response: Response, *, settings: Settings) -> None:
    response.delete_cookie(
        session_cookie_name(secure=settings.cookies_secure),
        path="/",
        secure=settings.cookies_secure,
        httponly=True,
        samesite="lax",
    )
