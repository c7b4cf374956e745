"""A repository's names, clone URL, default branch and flags, as GitHub last described it
(a `repository` event or the reconciler's read by id), copied to the cached repository, every
link of it and its projects' clone URL. Identity is the numeric id: renames and transfers
keep deploying."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.github import models as m
from nanoscale.projects.models import Project


def apply_repository(db: Session, *, ctx: AppContext, repo_id: int, repo: dict[str, Any]) -> None:
    owner = str((repo.get("owner") or {}).get("login") or "")
    name, full_name = str(repo.get("name") or ""), str(repo.get("full_name") or "")
    clone_url = str(repo.get("clone_url") or "")
    default_branch = str(repo.get("default_branch") or "")
    links = list(
        db.scalars(select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id == repo_id))
    )
    cached = db.scalar(select(m.GitHubRepository).where(m.GitHubRepository.repo_id == repo_id))
    if cached is not None:
        cached.owner_login, cached.name, cached.full_name = owner, name, full_name
        cached.archived = bool(repo.get("archived"))
        cached.is_private = bool(repo.get("private"))
        cached.clone_url = clone_url or cached.clone_url
        cached.html_url = str(repo.get("html_url") or cached.html_url)
        cached.default_branch = default_branch or cached.default_branch
    for link in links:
        link.owner_login, link.repo_name, link.full_name = owner, name, full_name
        link.default_branch = default_branch or link.default_branch
    if clone_url and links and ctx.settings.git_url_allowed(clone_url):
        project_ids = [link.project_id for link in links]
        db.execute(update(Project).where(Project.id.in_(project_ids)).values(repo_url=clone_url))
