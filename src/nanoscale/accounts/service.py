"""Authentication flows shared by the JSON API and the dashboard's HTML forms.

Framework-neutral: plain arguments in, dataclasses/models out, `NanoScaleError`s raised.
The caller owns the transaction and commits, except where noted: a failed login commits
its failure record itself, because the error that follows makes callers roll back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from nanoscale.accounts import audit, sessions, throttle, users
from nanoscale.accounts.models import User
from nanoscale.accounts.passwords import hash_password, needs_rehash, verify_password
from nanoscale.accounts.sessions import NewSession, SessionInfo
from nanoscale.db.transactions import commit_before_raising
from nanoscale.errors import Conflict, InvalidInput, RateLimited, Unauthenticated
from nanoscale.logs import get_logger
from nanoscale.settings import Settings
from nanoscale.strings import has_control_characters

log = get_logger("nanoscale.accounts.service")

__all__ = [
    "LoginResult",
    "SessionInfo",
    "login",
    "logout",
    "needs_setup",
    "resolve_session",
    "setup_admin",
]


@dataclass(frozen=True)
class LoginResult:
    """`token` is the new session cookie value; `session.csrf_token` goes into forms."""

    user: User
    token: str
    session: SessionInfo


def needs_setup(session: Session) -> bool:
    """True until the first user exists (first-run setup is open only then)."""
    return users.user_count(session) == 0


def setup_admin(
    session: Session, *, settings: Settings, username: str, password: str, ip: str | None
) -> LoginResult:
    """First run: create the admin and log them in. Conflict (409) once any user exists."""
    if session.get_bind().dialect.name == "postgresql":
        # Two concurrent setups must not both see an empty table (SQLite serializes already).
        session.execute(text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
    if not needs_setup(session):
        raise Conflict("setup is already complete; log in instead", code="setup_done")
    user = users.create_user(
        session, actor=None, actor_label="setup", username=username, password=password,
        is_admin=True, ip=ip,
    )  # fmt: skip
    log.info("auth.setup.completed", user_id=user.id)
    return _start_session(session, settings=settings, user=user, ip=ip)


def login(
    session: Session,
    *,
    settings: Settings,
    username: str,
    password: str,
    ip: str,
    previous_token: str | None = None,
) -> LoginResult:
    """Check credentials and start a fresh session (a previous one is ended: rotation).

    Raises RateLimited (429) when the IP or username is throttled, Unauthenticated (401) on
    bad credentials, with the same message whether or not the username exists.
    """
    name = username.strip().lower()[:64]
    if has_control_characters(name):  # never in a username, and NUL breaks PostgreSQL
        raise InvalidInput("usernames cannot contain control characters", field="username")
    try:
        throttle.check(session, settings=settings, ip=ip, username=name)
    except RateLimited as exc:
        log.warning("auth.login.throttled", ip=ip, retry_after=exc.retry_after)
        raise
    user = users.find_user(session, username=name)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        _record_failure(session, settings=settings, user=user, name=name, ip=ip)
        raise Unauthenticated("wrong username or password", code="login_failed")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.clear_username(session, username=name)
    if previous_token:
        sessions.end_session(session, token=previous_token)
    sessions.purge_expired(session, settings=settings)
    audit.record(session, action="auth.login.succeeded", actor=user, ip=ip)
    log.info("auth.login.succeeded", user_id=user.id, ip=ip)
    return _start_session(session, settings=settings, user=user, ip=ip)


def _record_failure(
    session: Session, *, settings: Settings, user: User | None, name: str, ip: str
) -> None:
    throttle.record_failure(session, settings=settings, ip=ip, username=name)
    # Only known usernames are echoed: an unknown one may be a password typed in the wrong box.
    label = user.username if user else "unknown"
    audit.record(
        session, action="auth.login.failed", actor=None, actor_label=label, ip=ip,
        details={"known_user": user is not None},
    )  # fmt: skip
    commit_before_raising(session)
    log.warning("auth.login.failed", username=label, ip=ip)


def logout(session: Session, *, token: str, user: User | None, ip: str | None) -> None:
    if sessions.end_session(session, token=token):
        audit.record(session, action="auth.logout", actor=user, ip=ip)
        log.info("auth.logout", user_id=user.id if user else None)


def resolve_session(session: Session, *, settings: Settings, token: str) -> SessionInfo | None:
    """The live session for a cookie value, or None. Idle/absolute expiry applied."""
    return sessions.resolve_session(session, settings=settings, token=token)


def _start_session(
    session: Session, *, settings: Settings, user: User, ip: str | None
) -> LoginResult:
    new: NewSession = sessions.create_session(session, settings=settings, user=user, ip=ip)
    return LoginResult(user=user, token=new.token, session=new.info)
