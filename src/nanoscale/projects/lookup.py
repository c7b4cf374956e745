"""Finding projects: scoped to what a user may see, or by name for operator tools.

A project another user owns is reported as missing (404), never as forbidden, so ids do
not reveal what exists. Admins see every project.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.errors import NotFound
from nanoscale.projects.models import Project


def list_projects(session: Session, *, user: User) -> Sequence[Project]:
    query = select(Project).order_by(Project.name)
    if not user.is_admin:
        query = query.where(Project.owner_id == user.id)
    return session.scalars(query).all()


def get_project(session: Session, *, user: User, project_id: str) -> Project:
    project = session.get(Project, project_id) if len(project_id) <= 32 else None
    if project is None or not (user.is_admin or project.owner_id == user.id):
        raise NotFound("no such project", code="project_not_found")
    return project


def find_project_by_name(session: Session, *, name: str) -> Project:
    """For operator tools (CLI) that name projects rather than carry ids."""
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFound(f"no project named {name!r}", code="project_not_found")
    return project


def count_owned_projects(session: Session, owner_id: str) -> int:
    """How many projects `owner_id` owns (a user who owns any cannot be removed)."""
    query = select(func.count()).select_from(Project).where(Project.owner_id == owner_id)
    return int(session.scalar(query) or 0)
