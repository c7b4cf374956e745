"""Login throttling: failed logins per IP and per username within a window, kept in the DB.

Stored in the database (not process memory) so limits survive restarts and hold across
several orchestrator processes. A success clears the username's failures, not the IP's,
so one valid account cannot be used to reset an address that is guessing others.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from nanoscale.accounts.models import LoginFailure
from nanoscale.db.base import utcnow
from nanoscale.errors import RateLimited
from nanoscale.settings import Settings


def _retry_after(
    session: Session,
    *,
    column: InstrumentedAttribute[str],
    value: str,
    since: datetime,
    limit: int,
    window: int,
) -> int | None:
    """Seconds until the count for `value` drops below `limit`, or None if not throttled."""
    query = select(LoginFailure.created_at).where(
        column == value,
        LoginFailure.created_at > since,
    )
    stamps = sorted(session.scalars(query).all())
    if len(stamps) < limit:
        return None
    # The window frees up when the oldest failure that still keeps us at the limit expires.
    oldest_blocking = stamps[len(stamps) - limit]
    remaining = (oldest_blocking + timedelta(seconds=window) - utcnow()).total_seconds()
    return max(1, math.ceil(remaining))


def check(session: Session, *, settings: Settings, ip: str, username: str) -> None:
    """Raise RateLimited (429, Retry-After) when this IP or username has failed too often."""
    window = settings.login_window_seconds
    since = utcnow() - timedelta(seconds=window)
    waits = [
        _retry_after(
            session,
            column=LoginFailure.ip,
            value=ip,
            since=since,
            limit=settings.login_max_failures_per_ip,
            window=window,
        ),
        _retry_after(
            session,
            column=LoginFailure.username,
            value=username,
            since=since,
            limit=settings.login_max_failures,
            window=window,
        ),
    ]
    blocking = [w for w in waits if w is not None]
    if blocking:
        raise RateLimited(
            "too many failed logins; wait before trying again",
            retry_after=max(blocking),
            code="login_throttled",
        )


def record_failure(session: Session, *, settings: Settings, ip: str, username: str) -> None:
    cutoff = utcnow() - timedelta(seconds=settings.login_window_seconds)
    session.execute(delete(LoginFailure).where(LoginFailure.created_at <= cutoff))
    session.add(LoginFailure(ip=ip[:64], username=username[:64]))


def clear_username(session: Session, *, username: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
