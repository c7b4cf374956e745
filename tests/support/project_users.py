"""Removing the system users of test projects once their orchestrator has stopped.

Only the exact accounts of this run's projects, by (name, id): another test or another
pytest-xdist worker may have a project of the same name on this host right now."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable

from sqlalchemy import Connection, text

from nanoscale.engine.runtime.users import remove_project_user
from nanoscale.errors import PlatformError

ProjectKey = tuple[str, str]  # (name, id)


def projects_created_in(db: Connection) -> set[ProjectKey]:
    """Every project a NanoScale database holds or ever audited as created (deleted ones too:
    their own teardown may have found the user still busy)."""
    found: set[ProjectKey] = {(str(n), str(i)) for n, i in db.execute(text(
        "SELECT name, id FROM projects"))}  # fmt: skip
    audited = text("SELECT target, details FROM audit_events WHERE action = 'project.created'")
    for target, details in db.execute(audited):
        values = json.loads(details) if isinstance(details, str) else (details or {})
        if values.get("project_id"):
            found.add((str(target).removeprefix("project:"), str(values["project_id"])))
    return found


def remove_users_of(projects: Iterable[ProjectKey]) -> None:
    for name, project_id in projects:
        with contextlib.suppress(PlatformError):  # busy: a process of it still runs
            remove_project_user(name, project_id)
