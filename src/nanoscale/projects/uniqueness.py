"""Name, domain and port are unique across projects.

They are checked before anything is written, so the user hears which one is taken; the
unique indexes settle the races those checks cannot see, and such a race becomes a
Conflict ("retry"), never an IntegrityError.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nanoscale.errors import Conflict, PlatformError
from nanoscale.projects.models import Project
from nanoscale.settings import Settings

_INSERT_ATTEMPTS = 3


def check_unique(
    session: Session, *, name: str, domain: str | None, exclude_id: str | None
) -> None:
    query = select(Project.id)
    if exclude_id:
        query = query.where(Project.id != exclude_id)
    if session.scalar(query.where(Project.name == name)):
        raise Conflict(f"a project named {name!r} exists", code="name_taken", field="name")
    if domain and session.scalar(query.where(Project.domain == domain)):
        raise Conflict(f"{domain} is used by another project", code="domain_taken", field="domain")


def free_port(session: Session, settings: Settings) -> int:
    """The lowest free port in the configured range (the unique index catches races)."""
    used = set(session.scalars(select(Project.port)).all())
    for port in range(settings.port_range_start, settings.port_range_end + 1):
        if port not in used:
            return port
    raise PlatformError(
        "no free port left for a new project; widen NANOSCALE_PORT_RANGE_START/END",
        code="port_range_exhausted",
    )


def insert_with_free_port(session: Session, project: Project, *, settings: Settings) -> None:
    """Insert with the lowest free port. A concurrent creation may take the same port (or
    name/domain) first: the unique index refuses ours, and we retry with a fresh look."""
    for attempt in range(_INSERT_ATTEMPTS):
        check_unique(session, name=project.name, domain=project.domain, exclude_id=None)
        project.port = free_port(session, settings)
        try:
            with session.begin_nested():
                session.add(project)
        except IntegrityError:
            if attempt == _INSERT_ATTEMPTS - 1:
                raise Conflict(
                    "projects were being created concurrently; retry", code="conflict"
                ) from None
        else:
            return


def flush_or_conflict(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        # A concurrent request took the same name, domain or port between check and insert.
        raise Conflict(
            "another change to projects happened at the same time; retry", code="conflict"
        ) from exc
