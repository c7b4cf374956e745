"""/api/auth: first-run setup, login, logout, the current session, password change."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from nanoscale.accounts import service, users
from nanoscale.accounts.csrf import check_origin
from nanoscale.accounts.models import User
from nanoscale.accounts.passwords import MAX_LENGTH as PASSWORD_MAX
from nanoscale.accounts.passwords import MIN_LENGTH as PASSWORD_MIN
from nanoscale.accounts.service import LoginResult
from nanoscale.accounts.users import USERNAME_PATTERN
from nanoscale.api.contract import errors
from nanoscale.api.deps import (
    ClientIp,
    Context,
    CurrentAuth,
    DbSession,
    clear_session_cookie,
    session_cookie,
    set_session_cookie,
)
from nanoscale.strings import NO_CONTROL_CHARACTERS
from nanoscale.web_deps import device_cookie, request_origin

router = APIRouter(prefix="/auth", tags=["auth"])


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    is_admin: bool
    created_at: datetime


class SessionOut(BaseModel):
    user: UserOut
    # Send back in X-CSRF-Token on every cookie-authenticated POST/PATCH/DELETE.
    csrf_token: str | None
    expires_at: datetime | None


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=256, pattern=NO_CONTROL_CHARACTERS)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class NewAdmin(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class SetupState(BaseModel):
    needs_setup: bool


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


def _session_out(user: User, result: LoginResult | None = None) -> SessionOut:
    return SessionOut(
        user=UserOut.model_validate(user),
        csrf_token=result.session.csrf_token if result else None,
        expires_at=result.session.expires_at if result else None,
    )


def _check_same_origin(request: Request, ctx: Context) -> None:
    # Login/setup have no session yet, so no CSRF token: the Origin check stops a foreign
    # page from logging a browser into an attacker's account.
    check_origin(**request_origin(request, ctx.settings))


@router.get("/setup", response_model=SetupState)
def setup_state(db: DbSession) -> SetupState:
    return SetupState(needs_setup=service.needs_setup(db))


@router.post(
    "/setup",
    response_model=SessionOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(403, 409, 429),
)
def setup(
    *, body: NewAdmin, request: Request, response: Response, db: DbSession, ctx: Context,
    ip: ClientIp,
) -> SessionOut:  # fmt: skip
    """Create the first admin (only while no user exists) and log them in."""
    _check_same_origin(request, ctx)
    result = service.setup_admin(
        db, settings=ctx.settings, username=body.username, password=body.password, ip=ip
    )
    set_session_cookie(response, settings=ctx.settings, result=result)
    return _session_out(result.user, result)


@router.post("/login", response_model=SessionOut, responses=errors(401, 403, 429))
def login(
    *, body: Credentials, request: Request, response: Response, db: DbSession, ctx: Context,
    ip: ClientIp,
) -> SessionOut:  # fmt: skip
    _check_same_origin(request, ctx)
    result = service.login(
        db,
        settings=ctx.settings,
        username=body.username,
        password=body.password,
        ip=ip,
        previous_token=session_cookie(request, settings=ctx.settings),
        keyring=ctx.keyring,
        device_token=device_cookie(request, settings=ctx.settings),
    )
    set_session_cookie(response, settings=ctx.settings, result=result)
    return _session_out(result.user, result)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    *, auth: CurrentAuth, request: Request, response: Response, db: DbSession, ctx: Context,
    ip: ClientIp,
) -> None:  # fmt: skip
    token = session_cookie(request, settings=ctx.settings)
    if auth.session is not None and token:
        service.logout(db, token=token, user=auth.user, ip=ip)
    clear_session_cookie(response, settings=ctx.settings)


@router.get("/session", response_model=SessionOut)
def current_session(auth: CurrentAuth) -> SessionOut:
    """Who is logged in, and (for cookie sessions) the CSRF token to send back."""
    info = auth.session
    return SessionOut(
        user=UserOut.model_validate(auth.user),
        csrf_token=info.csrf_token if info else None,
        expires_at=info.expires_at if info else None,
    )


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT, responses=errors(429))
def change_password(
    body: PasswordChange, auth: CurrentAuth, db: DbSession, ctx: Context, ip: ClientIp
) -> None:
    """Change your password; your other sessions end, this one stays. Wrong current
    passwords are throttled like failed logins (429 with Retry-After)."""
    users.change_password(
        db,
        user=auth.user,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_session_id=auth.session.id if auth.session else None,
        ip=ip,
        settings=ctx.settings,
    )
