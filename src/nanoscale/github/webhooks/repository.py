"""`repository`: identity is the numeric id, so a rename or transfer keeps deploying with the
new names and clone URL; archive/unarchive is mirrored; a deleted repository's links go
inactive (their projects keep serving what they run)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.github import models as m
from nanoscale.github.webhooks.deliveries import Outcome
from nanoscale.projects.models import Project


def handle(
    db: Session, *, ctx: AppContext, payload: dict[str, Any], delivery_id: str, hook_id: int
) -> Outcome:
    repo = payload.get("repository") or {}
    repo_id, action = repo.get("id"), str(payload.get("action") or "")
    if not isinstance(repo_id, int):
        return Outcome(200, "ignored", "no repository id")
    links = list(
        db.scalars(select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id == repo_id))
    )
    cached = db.scalar(select(m.GitHubRepository).where(m.GitHubRepository.repo_id == repo_id))
    if action == "deleted":
        db.execute(update(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id == repo_id)
                   .values(active=False))  # fmt: skip
        return Outcome(200, "updated", "repository deleted: links deactivated")
    if action in ("renamed", "transferred", "archived", "unarchived", "privatized", "publicized",
                  "edited"):  # fmt: skip
        _refresh_names(db, ctx, links, cached, repo)
        return Outcome(200, "updated", f"repository {action}")
    return Outcome(200, "ignored", f"repository action {action!r} is not acted on")


def _refresh_names(
    db: Session,
    ctx: AppContext,
    links: list[m.ProjectGitHubLink],
    cached: m.GitHubRepository | None,
    repo: dict[str, Any],
) -> None:
    owner = str((repo.get("owner") or {}).get("login") or "")
    name, full_name = str(repo.get("name") or ""), str(repo.get("full_name") or "")
    clone_url = str(repo.get("clone_url") or "")
    if cached is not None:
        cached.owner_login, cached.name, cached.full_name = owner, name, full_name
        cached.archived = bool(repo.get("archived"))
        cached.is_private = bool(repo.get("private"))
        cached.clone_url = clone_url or cached.clone_url
    for link in links:
        link.owner_login, link.repo_name, link.full_name = owner, name, full_name
    if clone_url and links and ctx.settings.git_url_allowed(clone_url):
        project_ids = [link.project_id for link in links]
        db.execute(update(Project).where(Project.id.in_(project_ids)).values(repo_url=clone_url))
