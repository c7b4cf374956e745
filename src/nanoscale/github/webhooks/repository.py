"""`repository`: identity is the numeric id, so a rename or transfer keeps deploying with the
new names and clone URL; archive/unarchive is mirrored; a deleted repository's links go
inactive (their projects keep serving what they run)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.github import models as m
from nanoscale.github.repo_metadata import apply_repository
from nanoscale.github.webhooks.deliveries import Outcome


def handle(
    db: Session, *, ctx: AppContext, payload: dict[str, Any], delivery_id: str, hook_id: int
) -> Outcome:
    repo = payload.get("repository") or {}
    repo_id, action = repo.get("id"), str(payload.get("action") or "")
    if not isinstance(repo_id, int):
        return Outcome(200, "ignored", "no repository id")
    if action == "deleted":
        db.execute(update(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id == repo_id)
                   .values(active=False))  # fmt: skip
        return Outcome(200, "updated", "repository deleted: links deactivated")
    if action in ("renamed", "transferred", "archived", "unarchived", "privatized", "publicized",
                  "edited"):  # fmt: skip
        apply_repository(db, ctx=ctx, repo_id=repo_id, repo=repo)
        return Outcome(200, "updated", f"repository {action}")
    return Outcome(200, "ignored", f"repository action {action!r} is not acted on")
