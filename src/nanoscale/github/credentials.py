"""The deploy engine's `github` credential source: an installation token for the project's one
repository with `contents: read`, minted when git first asks (and cached by the gateway until
5 minutes before it expires), offered only to the clone URL's own origin. It reaches git through
the engine's environment-only path, like every credential."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.engine.credentials import GitCredentials, origin_of
from nanoscale.errors import PlatformError
from nanoscale.github import models as m
from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.runtime import gateway_for
from nanoscale.projects.models import Project

CLONE_PERMISSIONS = {"contents": "read"}


@dataclass
class InstallationTokenCredentials:
    gateway: GitHubGateway
    installation_id: int
    repo_id: int
    clone_url: str

    def credentials_for(self, url: str) -> GitCredentials | None:
        if origin_of(url) != origin_of(self.clone_url):
            return None
        token = self.gateway.installation_token(
            self.installation_id, repo_ids=[self.repo_id], permissions=CLONE_PERMISSIONS
        )
        return GitCredentials("x-access-token", token)


def github_credentials(project: Project, ctx: AppContext) -> InstallationTokenCredentials:
    with session_scope(ctx.sessions) as db:
        link = db.scalar(
            select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.project_id == project.id)
        )
        installation_id = link.installation_id if link else None
    if installation_id is None or project.source_repo_id is None:
        raise PlatformError(
            "this GitHub project has no repository link; recreate it from GitHub",
            code="github_link_missing",
        )
    return InstallationTokenCredentials(
        gateway=gateway_for(ctx),
        installation_id=installation_id,
        repo_id=project.source_repo_id,
        clone_url=project.repo_url,
    )
