"""Everything a project page shows, gathered through the projects and deployments services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.dashboard.presets import COMMAND_FIELDS, PRESETS
from nanoscale.dashboard.views import DeploymentRow, deployment_row, deployment_steps
from nanoscale.deployments import service
from nanoscale.deployments.logs.build_log import log_text
from nanoscale.deployments.logs.release_output import release_output_text
from nanoscale.deployments.reads.status import project_state
from nanoscale.deployments.releases import current_release
from nanoscale.deployments.states import DeploymentState
from nanoscale.errors import NotFound
from nanoscale.github.views import ProjectSource, project_source
from nanoscale.projects import git_hosts, secrets
from nanoscale.projects import service as projects
from nanoscale.projects.models import Project

HISTORY_SIZE = 50


@dataclass(frozen=True)
class ProjectView:
    project: Project
    rows: list[DeploymentRow]
    status: str | None
    url: str | None
    current: DeploymentRow | None  # the release serving now
    github: ProjectSource | None = None  # a GitHub project's repository, webhook, lifecycle

    def context(self, tab: str) -> dict[str, Any]:
        """The template context every project tab shares."""
        return {
            "nav": "projects",
            "tab": tab,
            "project": self.project,
            "status": self.status,
            "url": self.url,
            "current": self.current,
            "github": self.github,
            "deployments": self.rows,
            "rollback_targets": rollback_targets(self.rows, self.current),
            "errors": {},
            "notice": None,
        }


def rollback_targets(
    rows: list[DeploymentRow], current: DeploymentRow | None
) -> list[DeploymentRow]:
    """Earlier releases to go back to: each commit once (its newest deployment that went
    live), never the commit serving now."""
    seen = {current.commit_sha} if current else set()
    targets = []
    for row in rows:  # newest first
        if row.state == DeploymentState.LIVE and row.commit_sha not in seen:
            seen.add(row.commit_sha)
            targets.append(row)
    return targets


def load_project(db: Session, *, ctx: AppContext, user: User, project_id: str) -> ProjectView:
    project = projects.get_project(db, user=user, project_id=project_id)
    history = service.list_for_project(db, user=user, project_id=project.id, limit=HISTORY_SIZE)
    state = project_state(db, project=project, ctx=ctx)
    live = current_release(db, project.id)
    return ProjectView(
        project=project,
        rows=[deployment_row(d, project.name) for d in history],
        status=state["status"],
        url=state["url"],
        current=deployment_row(live, project.name) if live else None,
        github=project_source(db, project_id=project.id),
    )


def deployment_context(
    db: Session, *, user: User, view: ProjectView, deployment_id: str
) -> dict[str, Any]:
    """One deployment's steps and stored log (404 unless it belongs to this project)."""
    deployment = service.get_for_user(db, user=user, deployment_id=deployment_id)
    if deployment.project_id != view.project.id:
        raise NotFound("no such deployment", code="deployment_not_found")
    row = deployment_row(deployment, view.project.name)
    return {
        "latest": row,
        "latest_active": row.active,
        "steps": deployment_steps(deployment),
        "log_text": log_text(db, deployment.id),
        "log_src": f"/api/deployments/{deployment.id}/logs",
    }


def release_log_context(
    db: Session, *, ctx: AppContext, user: User, view: ProjectView
) -> dict[str, Any]:
    """The live release's latest output; the page follows it over SSE from there. A static
    site runs no process (the proxy serves its files), so it has none to show."""
    if view.project.output_directory:
        return {"app_log_static": True, "app_log_text": "", "app_log_src": ""}
    text = release_output_text(db, ctx=ctx, user=user, project_id=view.project.id)
    return {
        "app_log_static": False,
        "app_log_text": text,
        "app_log_src": f"/api/projects/{view.project.id}/logs",
    }


def settings_context(db: Session, ctx: AppContext, project: Project) -> dict[str, Any]:
    """Current settings for the form. Env vars: names only, values stay on the server."""
    fields = (
        "repo_url", "branch", "git_username", "domain", "root_directory", "health_check_path",
        *COMMAND_FIELDS,
    )  # fmt: skip
    values = {name: getattr(project, name) or "" for name in fields}
    return {
        "values": values,
        "git_hosts": git_hosts.effective_settings(db, ctx.settings).git_allowed_hosts,
        "has_credential": project.git_password_encrypted is not None,
        "env_keys": secrets.env_var_keys(project, keyring=ctx.keyring),
        "presets": PRESETS,
        "delete_errors": {},
        "env_rows": None,  # the env rows as submitted, after an error (forms.EnvRows)
    }
