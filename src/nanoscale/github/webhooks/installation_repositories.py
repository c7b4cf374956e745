"""`installation_repositories`: repositories removed from an installation disappear from every
user's picker and their project links go inactive; added ones appear at the next sync."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.github import models as m
from nanoscale.github.webhooks.deliveries import Outcome


def handle(
    db: Session, *, ctx: AppContext, payload: dict[str, Any], delivery_id: str, hook_id: int
) -> Outcome:
    removed = [
        r.get("id") for r in payload.get("repositories_removed") or [] if isinstance(r, dict)
    ]
    ids = [i for i in removed if isinstance(i, int)]
    if payload.get("action") != "removed" or not ids:
        return Outcome(200, "ignored", "no repositories removed")
    db.execute(delete(m.GitHubRepositoryAccess).where(m.GitHubRepositoryAccess.repo_id.in_(ids)))
    db.execute(update(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id.in_(ids))
               .values(active=False))  # fmt: skip
    return Outcome(200, "updated", f"{len(ids)} repositories removed from the installation")
