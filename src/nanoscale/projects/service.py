"""Projects: the service's public face - create, list, read, update and delete, each scoped
to what the user may see.

A project another user owns is reported as missing (404), never as forbidden, so ids do
not reveal what exists. Admins see and manage every project. Callers import from here; the
work lives in `lookup` (reads), `creation`, `updates` and `uniqueness` (name, domain, port).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.logs import get_logger
from nanoscale.projects.creation import TrustedSource, check_new_project, create_project
from nanoscale.projects.lookup import (
    count_owned_projects,
    find_project_by_name,
    get_project,
    list_projects,
)
from nanoscale.projects.uniqueness import flush_or_conflict
from nanoscale.projects.updates import update_project

__all__ = [
    "TrustedSource",
    "check_new_project",
    "count_owned_projects",
    "create_project",
    "delete_project",
    "find_project_by_name",
    "get_project",
    "list_projects",
    "update_project",
]

log = get_logger("nanoscale.projects")


def delete_project(
    session: Session, *, ctx: AppContext, user: User, project_id: str, ip: str | None = None
) -> None:
    """Delete the project's row (its releases, route and files are torn down first by
    `nanoscale.deployments.worker.teardown`)."""
    project = get_project(session, user=user, project_id=project_id)
    session.delete(project)
    flush_or_conflict(session)
    audit.record(
        session, action="project.deleted", actor=user, ip=ip, target=f"project:{project.name}",
        details={"project_id": project.id},
    )  # fmt: skip
    log.info("project.deleted", project_id=project.id, project=project.name)
