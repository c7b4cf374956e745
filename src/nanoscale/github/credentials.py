"""The deploy engine's `github` credential source: an installation token for the project's one
repository with `contents: read`, minted when git first asks (and cached by the gateway until
5 minutes before it expires), offered only to the clone URL's own origin. It reaches git through
the engine's environment-only path, like every credential."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.deployments.credentials import register_credential_source
from nanoscale.engine.credentials import GitCredentials, origin_of
from nanoscale.errors import PlatformError
from nanoscale.github import models as m
from nanoscale.github.runtime import gateway_for
from nanoscale.projects.models import Project

CLONE_PERMISSIONS = {"contents": "read"}


@dataclass
class InstallationTokenCredentials:
    """Looks its link up and mints only when git asks: by then the caller holds no database
    transaction (request_deployment commits before `git ls-remote`; the worker fetches
    outside any)."""

    ctx: AppContext
    project_id: str
    repo_id: int
    clone_url: str
    _installation_id: int | None = field(default=None, repr=False)

    def credentials_for(self, url: str) -> GitCredentials | None:
        if origin_of(url) != origin_of(self.clone_url):
            return None
        token = gateway_for(self.ctx).installation_token(
            self._installation(), repo_ids=[self.repo_id], permissions=CLONE_PERMISSIONS
        )
        return GitCredentials("x-access-token", token)

    def _installation(self) -> int:
        if self._installation_id is None:
            with session_scope(self.ctx.sessions) as db:
                self._installation_id = db.scalar(
                    select(m.ProjectGitHubLink.installation_id).where(
                        m.ProjectGitHubLink.project_id == self.project_id
                    )
                )
            if self._installation_id is None:
                raise PlatformError(
                    "this GitHub project has no repository link; recreate it from GitHub",
                    code="github_link_missing",
                )
        return self._installation_id


def github_credentials(project: Project, ctx: AppContext) -> InstallationTokenCredentials:
    if project.source_repo_id is None:
        raise PlatformError("this GitHub project has no repository id", code="github_link_missing")
    return InstallationTokenCredentials(
        ctx=ctx, project_id=project.id, repo_id=project.source_repo_id, clone_url=project.repo_url
    )


def register_github_credentials() -> None:
    """Offer the `github` source to the deploy engine (called where the app is assembled)."""
    register_credential_source("github", github_credentials)
