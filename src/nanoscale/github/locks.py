"""Named leases in `github_locks`, held across GitHub calls and across processes.

A lease is taken and released in short transactions of its own, so nothing is locked in the
database while GitHub answers (the transaction rule); the database arbitrates races with one
conditional UPDATE or a primary-key INSERT, on SQLite and PostgreSQL alike. A lease expires,
so a holder killed mid-way frees it without help (at once when it was a process on this host).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.errors import Conflict
from nanoscale.github import models as m

POLL_SECONDS = 0.1


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def try_acquire(ctx: AppContext, *, name: str, holder: str, seconds: float) -> bool:
    """Take (or renew, for the same holder) the lease; False while someone else holds it."""
    now = utcnow()
    expires = now + timedelta(seconds=seconds)
    with session_scope(ctx.sessions) as db:
        result = db.execute(
            update(m.GitHubLock)
            .where(m.GitHubLock.name == name,
                   or_(m.GitHubLock.expires_at < now, m.GitHubLock.holder == holder))
            .values(holder=holder, expires_at=expires)
        )  # fmt: skip
        taken = cast(CursorResult[Any], result).rowcount
        if taken:
            return True
        current = db.get(m.GitHubLock, name)
        if current is not None:
            return _take_from_dead(db, name=name, dead=current.holder, holder=holder,
                                   expires=expires)  # fmt: skip
        try:
            with db.begin_nested():
                db.add(m.GitHubLock(name=name, holder=holder, expires_at=expires))
        except IntegrityError:
            return False
    return True


def _take_from_dead(db: Session, *, name: str, dead: str, holder: str, expires: datetime) -> bool:
    """A holder that was a process on this host which no longer exists (killed, crashed)
    loses the lease at once rather than when it lapses: a restarted server goes on."""
    host, _, rest = dead.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        result = db.execute(
            update(m.GitHubLock)
            .where(m.GitHubLock.name == name, m.GitHubLock.holder == dead)
            .values(holder=holder, expires_at=expires)
        )
        return bool(cast(CursorResult[Any], result).rowcount)
    except PermissionError:
        return False
    return False


def release(ctx: AppContext, *, name: str, holder: str) -> None:
    with session_scope(ctx.sessions) as db:
        db.execute(
            delete(m.GitHubLock).where(m.GitHubLock.name == name, m.GitHubLock.holder == holder)
        )


@contextmanager
def held(ctx: AppContext, *, name: str, wait: float, seconds: float) -> Iterator[str]:
    """Hold the lease for the body, waiting up to `wait` seconds for it; a lease still busy
    then is a 409 `github_busy` (the caller retries later)."""
    holder, deadline = new_holder(), time.monotonic() + wait
    while not try_acquire(ctx, name=name, holder=holder, seconds=seconds):
        if time.monotonic() >= deadline:
            raise Conflict("another NanoScale process is changing this on GitHub; try again",
                           code="github_busy")  # fmt: skip
        time.sleep(POLL_SECONDS)
    try:
        yield holder
    finally:
        release(ctx, name=name, holder=holder)


def hook_lock_name(repo_id: int) -> str:
    return f"hook:{repo_id}"
