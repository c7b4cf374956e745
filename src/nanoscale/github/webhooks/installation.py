"""`installation`: suspension and accepted permissions are mirrored; a deleted installation
takes every user's access to it and deactivates the project links that used it (projects
keep serving)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.github import models as m
from nanoscale.github.webhooks.deliveries import Outcome


def handle(
    db: Session, *, ctx: AppContext, payload: dict[str, Any], delivery_id: str, hook_id: int
) -> Outcome:
    installation = payload.get("installation") or {}
    installation_id, action = installation.get("id"), str(payload.get("action") or "")
    if not isinstance(installation_id, int):
        return Outcome(200, "ignored", "no installation id")
    row = db.scalar(
        select(m.GitHubInstallation).where(m.GitHubInstallation.installation_id == installation_id)
    )
    if action == "deleted":
        db.execute(update(m.ProjectGitHubLink)
                   .where(m.ProjectGitHubLink.installation_id == installation_id)
                   .values(active=False))  # fmt: skip
        for model in (m.GitHubRepositoryAccess, m.GitHubRepoSync):
            db.execute(delete(model).where(model.installation_id == installation_id))
        if row is not None:
            db.delete(row)  # access rows go with it (foreign key cascade)
        return Outcome(200, "updated", "installation deleted: links deactivated")
    if action == "new_permissions_accepted" and row is not None:
        if isinstance(installation.get("permissions"), dict):
            row.permissions = dict(installation["permissions"])
        return Outcome(200, "updated", "installation permissions recorded")
    if action in ("suspend", "unsuspend") and row is not None:
        row.suspended = action == "suspend"
        return Outcome(200, "updated", f"installation {action}ed")
    return Outcome(200, "ignored", f"installation action {action!r} needs no change here")
