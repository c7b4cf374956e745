"""`installation_repositories`: repositories removed from an installation disappear from every
user's picker and their project links go inactive; added ones appear at the next sync, and a
project link that went inactive when its repository was removed is active again when it is
added back (its owner still connected), so the reconciler catches up on what was missed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.github import models as m
from nanoscale.github.webhooks.deliveries import Outcome
from nanoscale.projects.models import Project


def handle(
    db: Session, *, ctx: AppContext, payload: dict[str, Any], delivery_id: str, hook_id: int
) -> Outcome:
    action = payload.get("action")
    installation_id = (payload.get("installation") or {}).get("id")
    if action == "removed":
        ids = _repo_ids(payload.get("repositories_removed"))
        if not ids:
            return Outcome(200, "ignored", "no repositories removed")
        db.execute(delete(m.GitHubRepositoryAccess)
                   .where(m.GitHubRepositoryAccess.repo_id.in_(ids)))  # fmt: skip
        db.execute(update(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id.in_(ids))
                   .values(active=False))  # fmt: skip
        return Outcome(200, "updated", f"{len(ids)} repositories removed from the installation")
    if action == "added" and isinstance(installation_id, int):
        reactivated = _reactivate(db, installation_id, _repo_ids(payload.get("repositories_added")))
        if reactivated:
            return Outcome(200, "updated", f"{reactivated} project links active again")
        return Outcome(200, "ignored", "no inactive project links for the added repositories")
    return Outcome(200, "ignored", "no repositories removed")


def _repo_ids(repositories: Any) -> list[int]:
    listed = repositories if isinstance(repositories, list) else []
    return [r["id"] for r in listed if isinstance(r, dict) and isinstance(r.get("id"), int)]


def _reactivate(db: Session, installation_id: int, repo_ids: list[int]) -> int:
    """Only links of this installation, and only where the project's owner is still connected
    to GitHub (a disconnect deactivates links too, and must not be undone by someone else) and
    their own token last listed this installation (a GitHub account connected since, without
    access to it, revives nothing)."""
    if not repo_ids:
        return 0
    connected = select(m.GitHubUserLink.local_user_id)
    with_access = select(m.GitHubInstallationAccess.local_user_id).where(
        m.GitHubInstallationAccess.installation_id == installation_id
    )
    owned_by_connected = select(Project.id).where(
        Project.owner_id.in_(connected), Project.owner_id.in_(with_access)
    )
    links = db.scalars(
        select(m.ProjectGitHubLink).where(
            m.ProjectGitHubLink.installation_id == installation_id,
            m.ProjectGitHubLink.repo_id.in_(repo_ids),
            m.ProjectGitHubLink.active.is_(False),
            m.ProjectGitHubLink.project_id.in_(owned_by_connected),
        )
    ).all()
    for link in links:
        link.active = True
        link.reconcile_etags = {}  # the next pass reads everything afresh (hook, head, metadata)
    return len(links)
