"""Server-side browser sessions: created on login, resolved per request, expired by age.

The cookie holds a random token; the database holds only its SHA-256. A session ends at
`expires_at` (absolute lifetime) or after `session_idle_seconds` without a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nanoscale.accounts.models import AuthSession, User
from nanoscale.accounts.secrets_util import digest, new_secret
from nanoscale.db.base import utcnow
from nanoscale.settings import Settings

SESSION_COOKIE = "nanoscale_session"
# Over https the cookie carries the `__Host-` prefix: browsers then accept it only with Secure,
# Path=/ and no Domain, set by this very host. An app on a sibling host (or on another path
# or port) can still set a plain `nanoscale_session` for the parent domain (cookie tossing,
# e.g. to log the admin's browser into the attacker's account), but never this one, and the
# plain name is not read over https.
SECURE_SESSION_COOKIE = "__Host-" + SESSION_COOKIE


def session_cookie_name(*, secure: bool) -> str:
    return SECURE_SESSION_COOKIE if secure else SESSION_COOKIE


# last_seen_at is written at most this often, so reads do not turn into writes.
_TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionInfo:
    """A live session: who is logged in and the CSRF token their forms must carry."""

    id: str
    user: User
    csrf_token: str
    expires_at: datetime  # absolute expiry (the cookie's lifetime)


@dataclass(frozen=True)
class NewSession:
    """A session just created: `token` goes into the cookie and is never stored."""

    token: str
    info: SessionInfo


def create_session(
    session: Session, *, settings: Settings, user: User, ip: str | None
) -> NewSession:
    token = new_secret()
    now = utcnow()
    row = AuthSession(
        user_id=user.id,
        token_hash=digest(token),
        csrf_token=new_secret(),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.session_absolute_seconds),
        ip=ip[:64] if ip else None,
    )
    session.add(row)
    session.flush()
    return NewSession(token=token, info=_info(row, user))


def resolve_session(session: Session, *, settings: Settings, token: str) -> SessionInfo | None:
    """The live session for a cookie value, or None (unknown, expired or idle too long)."""
    if not token or len(token) > 128:
        return None
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == digest(token)))
    if row is None:
        return None
    now = utcnow()
    idle_limit = row.last_seen_at + timedelta(seconds=settings.session_idle_seconds)
    if now >= row.expires_at or now >= idle_limit:
        session.delete(row)
        return None
    if now - row.last_seen_at >= _TOUCH_INTERVAL:
        row.last_seen_at = now
    user = session.get(User, row.user_id)
    if user is None:
        return None
    return _info(row, user)


def is_live(session: Session, *, settings: Settings, session_id: str) -> bool:
    """Whether a session still exists and has not expired (read-only: no touch). Open log
    streams ask this while they run, so logout or expiry ends them."""
    row = session.get(AuthSession, session_id)
    if row is None:
        return False
    now = utcnow()
    idle_limit = row.last_seen_at + timedelta(seconds=settings.session_idle_seconds)
    return now < row.expires_at and now < idle_limit


def end_session(session: Session, *, token: str) -> bool:
    """Delete the session behind a cookie value; True if there was one."""
    result = session.execute(delete(AuthSession).where(AuthSession.token_hash == digest(token)))
    return bool(getattr(result, "rowcount", 0))


def end_user_sessions(session: Session, *, user_id: str, keep_id: str | None = None) -> None:
    query = delete(AuthSession).where(AuthSession.user_id == user_id)
    if keep_id is not None:
        query = query.where(AuthSession.id != keep_id)
    session.execute(query)


def purge_expired(session: Session, *, settings: Settings) -> None:
    now = utcnow()
    idle_cutoff = now - timedelta(seconds=settings.session_idle_seconds)
    session.execute(
        delete(AuthSession).where(
            (AuthSession.expires_at <= now) | (AuthSession.last_seen_at <= idle_cutoff)
        )
    )


def _info(row: AuthSession, user: User) -> SessionInfo:
    return SessionInfo(id=row.id, user=user, csrf_token=row.csrf_token, expires_at=row.expires_at)
