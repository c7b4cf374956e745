"""FastAPI dependencies of the JSON routes. The ones the dashboard shares (context, database
session, client address, session cookie) live in `nanoscale.web_deps` and are re-exported here.

`current_user` accepts either `Authorization: Bearer <API token>` (no CSRF needed) or the
`nanoscale_session` cookie, in which case unsafe methods must also pass the CSRF checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from nanoscale.accounts import service, tokens
from nanoscale.accounts.csrf import CSRF_FORM_FIELD, CSRF_HEADER, SAFE_METHODS, check_csrf
from nanoscale.accounts.models import User
from nanoscale.accounts.secrets_util import digest
from nanoscale.accounts.sessions import SessionInfo
from nanoscale.errors import Forbidden, NotFound, Unauthenticated
from nanoscale.logs import get_logger
from nanoscale.strings import has_control_characters
from nanoscale.web_deps import (
    ClientIp,
    Context,
    DbSession,
    clear_session_cookie,
    client_ip,
    get_context,
    get_db,
    request_origin,
    session_cookie,
    set_session_cookie,
)

# Shared with the dashboard (see nanoscale.web_deps); re-exported for the API routes.
__all__ = [
    "AdminUser",
    "Auth",
    "ClientIp",
    "Context",
    "CurrentAuth",
    "CurrentUser",
    "DbSession",
    "clear_session_cookie",
    "client_ip",
    "current_auth",
    "current_user",
    "get_context",
    "get_db",
    "presented_csrf_token",
    "reject_control_characters",
    "require_admin",
    "session_cookie",
    "set_session_cookie",
]

log = get_logger("nanoscale.api.auth")

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def reject_control_characters(request: Request) -> None:
    """Ids in paths never hold control characters, and PostgreSQL cannot even compare a
    string with NUL in it: answer 404 before any query sees one."""
    for value in request.path_params.values():
        if isinstance(value, str) and has_control_characters(value):
            raise NotFound("no such object")


async def presented_csrf_token(request: Request) -> str | None:
    """The CSRF token a request carries: the X-CSRF-Token header, else a form field."""
    header = request.headers.get(CSRF_HEADER)
    if header is not None or request.method in SAFE_METHODS:
        return header
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        value = (await request.form()).get(CSRF_FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


@dataclass(frozen=True)
class Auth:
    user: User
    session: SessionInfo | None  # None when authenticated by an API token
    token_hash: str | None = None  # the API token's stored hash, when authenticated by one


def current_auth(
    request: Request,
    db: DbSession,
    ctx: Context,
    csrf_token: Annotated[str | None, Depends(presented_csrf_token)],
) -> Auth:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        user = _bearer_user(db, authorization)
        secret = authorization.partition(" ")[2].strip()
        return Auth(user=user, session=None, token_hash=digest(secret))
    cookie = session_cookie(request, settings=ctx.settings)
    if not cookie:
        raise Unauthenticated("log in first (POST /api/auth/login) or send an API token")
    info = service.resolve_session(db, settings=ctx.settings, token=cookie)
    if info is None:
        raise Unauthenticated("your session has expired; log in again", code="session_expired")
    if request.method not in SAFE_METHODS:
        check_csrf(
            expected=info.csrf_token, presented=csrf_token, **request_origin(request, ctx.settings)
        )
    return Auth(user=info.user, session=info)


def _bearer_user(db: Session, authorization: str) -> User:
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("use `Authorization: Bearer <API token>`", code="token_invalid")
    user = tokens.authenticate_token(db, secret=secret.strip())
    if user is None:
        log.warning("auth.token.rejected")
        raise Unauthenticated("invalid, revoked or expired API token", code="token_invalid")
    return user


CurrentAuth = Annotated[Auth, Depends(current_auth)]


def current_user(auth: CurrentAuth) -> User:
    return auth.user


CurrentUser = Annotated[User, Depends(current_user)]


def require_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("only admins can do this", code="admin_required")
    return user


AdminUser = Annotated[User, Depends(require_admin)]
