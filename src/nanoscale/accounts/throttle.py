"""Login throttling, kept in the database so limits survive restarts and hold across processes.

Two counters within a sliding window: failures per (IP, username) and failures per IP. There
is deliberately no counter per username alone: anyone who can reach the login form could
then keep the real user out by failing on purpose (lockout as a weapon). Guessing one
account from many addresses is slowed by the per-address limits and the password hash.

Atomic by reservation: `reserve_attempt` counts the window and records the attempt as a
failure in one serialized transaction (PostgreSQL: an advisory lock per IP; SQLite: every
transaction begins IMMEDIATE), commits, and only then is the password checked. A correct
password gives the reservation back (`settle_success`). So parallel guesses cannot all pass
the check before any of them is recorded: exactly the allowed number get a verdict.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select, text
from sqlalchemy.orm import Session

from nanoscale.accounts.models import LoginFailure
from nanoscale.db.base import new_id, utcnow
from nanoscale.db.transactions import end_transaction
from nanoscale.errors import RateLimited
from nanoscale.settings import Settings


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt: its failure row, and how many more failures the pair may have
    after this one before it is throttled (0: this was the last)."""

    failure_id: str
    remaining: int
    window_seconds: int


def reserve_attempt(session: Session, *, settings: Settings, ip: str, username: str) -> Attempt:
    """Record an attempt as a failure, or raise RateLimited (429, Retry-After). Ends the
    caller's transaction (db.transactions, rules 1 and 2): its pending work must be whole."""
    ip, username = ip[:64], username[:64]
    _lock_address(session, ip)
    window = settings.login_window_seconds
    now = utcnow()
    since = now - timedelta(seconds=window)
    session.execute(delete(LoginFailure).where(LoginFailure.created_at <= since))
    pair = _stamps(
        session, (LoginFailure.ip == ip) & (LoginFailure.username == username), since=since
    )
    per_ip = _stamps(session, LoginFailure.ip == ip, since=since)
    waits = [
        _wait(pair, limit=settings.login_max_failures, window=window, now=now),
        _wait(per_ip, limit=settings.login_max_failures_per_ip, window=window, now=now),
    ]
    blocking = [w for w in waits if w is not None]
    if blocking:  # the caller rolls back, which releases the lock
        raise RateLimited(
            f"too many failed logins; try again in {minutes_text(max(blocking))}",
            retry_after=max(blocking),
            code="login_throttled",
        )
    failure = LoginFailure(id=new_id(), ip=ip, username=username, created_at=now)
    session.add(failure)
    # Committed now: the reservation must count whatever happens next, and the slow password
    # check that follows must not run inside this serialized transaction.
    end_transaction(session)
    remaining = min(
        settings.login_max_failures - len(pair), settings.login_max_failures_per_ip - len(per_ip)
    )
    return Attempt(failure_id=failure.id, remaining=remaining - 1, window_seconds=window)


def settle_success(session: Session, *, attempt: Attempt, ip: str, username: str) -> None:
    """The password was right: the reservation and this pair's earlier failures go. The
    address's failures for other usernames stay, so one valid account cannot be used to
    reset an address that is guessing others."""
    session.execute(delete(LoginFailure).where(LoginFailure.id == attempt.failure_id))
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.ip == ip[:64], LoginFailure.username == username[:64]
        )
    )


def minutes_text(seconds: int) -> str:
    """`14 minutes`, `1 minute`: lockouts are told in minutes, rounded up."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def _lock_address(session: Session, ip: str) -> None:
    """Serialize reservations for one address until commit. SQLite's transactions already
    are (BEGIN IMMEDIATE, see db/engine.py); PostgreSQL's read committed ones are not."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(b"login:" + ip.encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _stamps(session: Session, where: ColumnElement[bool], *, since: datetime) -> list[datetime]:
    query = select(LoginFailure.created_at).where(where, LoginFailure.created_at > since)
    return sorted(session.scalars(query).all())


def _wait(stamps: list[datetime], *, limit: int, window: int, now: datetime) -> int | None:
    """Seconds until fewer than `limit` failures remain in the window, or None if below."""
    if len(stamps) < limit:
        return None
    # The window frees up when the oldest failure that still keeps us at the limit expires.
    oldest_blocking = stamps[len(stamps) - limit]
    remaining = (oldest_blocking + timedelta(seconds=window) - now).total_seconds()
    return max(1, math.ceil(remaining))
