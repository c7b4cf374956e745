"""The per-project lease: at most one deployment of a project runs at a time, across threads
and processes. Every change is one conditional statement, so the database arbitrates races;
a holder that dies stops heartbeating and its lease expires."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nanoscale.db.base import utcnow
from nanoscale.deployments.models import ProjectLease
from nanoscale.deployments.queue.sql import changed


def new_holder_id() -> str:
    """`host:pid:random`; the host and pid let a restarted orchestrator spot its dead self."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_local(holder: str) -> bool:
    return holder.partition(":")[0] == socket.gethostname()


def holder_is_dead_local(holder: str) -> bool:
    """True when the holder ran on this host in a process that no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(session: Session, *, project_id: str, holder: str, seconds: float) -> bool:
    now = utcnow()
    expires = now + timedelta(seconds=seconds)
    taken = changed(
        session,
        update(ProjectLease)
        .where(
            ProjectLease.project_id == project_id,
            or_(ProjectLease.expires_at < now, ProjectLease.holder == holder),
        )
        .values(
            holder=holder, acquired_at=now, heartbeat_at=now, expires_at=expires, deployment_id=None
        ),
    )
    if taken:
        return True
    if session.get(ProjectLease, project_id) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                ProjectLease(
                    project_id=project_id,
                    holder=holder,
                    acquired_at=now,
                    heartbeat_at=now,
                    expires_at=expires,
                )
            )
    except IntegrityError:
        return False
    return True


def attach(session: Session, *, project_id: str, holder: str, deployment_id: str) -> None:
    session.execute(
        update(ProjectLease)
        .where(ProjectLease.project_id == project_id, ProjectLease.holder == holder)
        .values(deployment_id=deployment_id)
    )


def renew(session: Session, *, project_id: str, holder: str, seconds: float) -> bool:
    """Heartbeat; False means the lease was lost (expired and taken, or released)."""
    now = utcnow()
    return bool(
        changed(
            session,
            update(ProjectLease)
            .where(ProjectLease.project_id == project_id, ProjectLease.holder == holder)
            .values(heartbeat_at=now, expires_at=now + timedelta(seconds=seconds)),
        )
    )


def release(session: Session, *, project_id: str, holder: str | None = None) -> None:
    stmt = delete(ProjectLease).where(ProjectLease.project_id == project_id)
    if holder is not None:
        stmt = stmt.where(ProjectLease.holder == holder)
    session.execute(stmt)


def current(session: Session, project_id: str) -> ProjectLease | None:
    return session.scalar(select(ProjectLease).where(ProjectLease.project_id == project_id))
