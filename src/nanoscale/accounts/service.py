"""Authentication flows shared by the JSON API and the dashboard's HTML forms.

Framework-neutral: plain arguments in, dataclasses/models out, `NanoScaleError`s raised.
The caller owns the transaction and commits, except where noted: a login commits its
throttle reservation before the password check (accounts/throttle.py), and a failed login
its audit record, because the error that follows makes callers roll back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.orm import Session

from nanoscale.accounts import audit, devices, sessions, throttle, users
from nanoscale.accounts.models import User
from nanoscale.accounts.passwords import hash_password, needs_rehash, verify_password
from nanoscale.accounts.sessions import NewSession, SessionInfo
from nanoscale.crypto import KeyRing
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
    """`token` is the new session cookie value; `session.csrf_token` goes into forms;
    `device_token` is the known-device cookie's value (accounts/devices.py), when issued."""

    user: User
    token: str
    session: SessionInfo
    device_token: str | None = None


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
    keyring: KeyRing | None = None,
    device_token: str | None = None,
) -> LoginResult:
    """Check credentials and start a fresh session (a previous one is ended: rotation).

    Raises RateLimited (429) when this IP, or this IP for this username, is throttled, and
    Unauthenticated (401) on bad credentials, with the same message whether or not the
    username exists; the message warns when one attempt is left before the lockout. With
    `keyring`, a genuine device cookie for this user (`device_token`) is throttled in its own
    bucket rather than the address's, and a success issues one.
    """
    name = username.strip().lower()[:64]
    if has_control_characters(name):  # never in a username, and NUL breaks PostgreSQL
        raise InvalidInput("usernames cannot contain control characters", field="username")
    user = users.find_user(session, username=name)
    device = None
    if keyring is not None and user is not None:
        device = devices.known_device(keyring, device_token, user_id=user.id)
    bucket = devices.throttle_bucket(device) if device else ip
    try:
        attempt = throttle.reserve_attempt(session, settings=settings, ip=bucket, username=name)
    except RateLimited as exc:
        log.warning("auth.login.throttled", ip=ip, retry_after=exc.retry_after, device=bool(device))
        raise
    if not verify_password(user.password_hash if user else None, password) or user is None:
        _record_failure(session, user=user, ip=ip)
        raise Unauthenticated(failure_message(attempt), code="login_failed")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.settle_success(session, attempt=attempt, ip=bucket, username=name)
    if previous_token:
        sessions.end_session(session, token=previous_token)
    sessions.purge_expired(session, settings=settings)
    audit.record(session, action="auth.login.succeeded", actor=user, ip=ip)
    log.info("auth.login.succeeded", user_id=user.id, ip=ip, known_device=bool(device))
    result = _start_session(session, settings=settings, user=user, ip=ip)
    if keyring is None:
        return result
    return replace(result, device_token=devices.issue(keyring, user_id=user.id, device_id=device))


def failure_message(attempt: throttle.Attempt) -> str:
    """What a failed login says: a warning on the last attempt, the wait once locked."""
    lockout = throttle.minutes_text(attempt.window_seconds)
    if attempt.remaining == 1:
        return (
            "wrong username or password; one attempt left before logins are paused "
            f"for up to {lockout}"
        )
    if attempt.remaining <= 0:
        return (
            "wrong username or password; too many failed attempts, wait up to "
            f"{lockout} before trying again"
        )
    return "wrong username or password"


def _record_failure(session: Session, *, user: User | None, ip: str) -> None:
    """The attempt's failure row is already committed (throttle.reserve_attempt)."""
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
