"""/api/projects: create, list, read, update and delete projects (JSON)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel
from sqlalchemy.orm import Session

from nanoscale.api.contract import errors
from nanoscale.api.deps import ClientIp, Context, CurrentUser, DbSession
from nanoscale.context import AppContext
from nanoscale.deployments.reads.status import project_state, project_summaries
from nanoscale.deployments.service import create_and_deploy_project
from nanoscale.github import projects as github_projects
from nanoscale.projects import secrets, service
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import ProjectCreate, ProjectUpdate
from nanoscale.settings import ProxyKind

router = APIRouter(prefix="/projects", tags=["projects"])


class ProjectOut(BaseModel):
    id: str
    name: str
    owner_id: str
    source_provider: str
    source_repo_id: int | None
    repo_url: str
    branch: str
    root_directory: str
    install_command: str | None
    build_command: str | None
    start_command: str | None
    output_directory: str | None
    health_check_path: str
    env_var_keys: list[str]  # values are write-only
    git_username: str | None
    has_git_credential: bool
    domain: str | None
    port: int | None  # the project's own loopback port; null behind Caddy (reached by host name)
    status: str
    url: str | None
    created_at: datetime
    updated_at: datetime


class ProjectCreated(ProjectOut):
    deployment_id: str  # the first deployment (GET /api/deployments/{id})


_PLAIN_FIELDS = (
    "id", "name", "owner_id", "source_provider", "source_repo_id", "repo_url", "branch",
    "root_directory", "install_command", "build_command", "start_command", "output_directory",
    "health_check_path", "git_username", "domain", "created_at", "updated_at",
)  # fmt: skip


def project_out(project: Project, *, db: Session, ctx: AppContext) -> ProjectOut:
    # status and url are derived from the project's deployments
    return _out(project, ctx=ctx, **project_state(db, project=project, ctx=ctx))


def _out(project: Project, *, ctx: AppContext, status: str | None, url: str | None) -> ProjectOut:
    return ProjectOut(
        **{name: getattr(project, name) for name in _PLAIN_FIELDS},
        port=project.port if ctx.settings.proxy == ProxyKind.NONE else None,
        status=status,
        url=url,
        env_var_keys=secrets.env_var_keys(project, keyring=ctx.keyring),
        has_git_credential=project.git_password_encrypted is not None,
    )


@router.post(
    "",
    response_model=ProjectCreated,
    status_code=status.HTTP_201_CREATED,
    responses=errors(409, 503),
)
def create_project(
    body: ProjectCreate, user: CurrentUser, db: DbSession, ctx: Context, ip: ClientIp
) -> ProjectCreated:
    create = github_projects.create_and_deploy if body.github_source else create_and_deploy_project
    project, deployment = create(db, ctx=ctx, owner=user, data=body, ip=ip)
    out = project_out(project, db=db, ctx=ctx)
    return ProjectCreated(**out.model_dump(), deployment_id=deployment.id)


@router.get("", response_model=list[ProjectOut])
def list_projects(user: CurrentUser, db: DbSession, ctx: Context) -> list[ProjectOut]:
    # One aggregated read for every project's status, not a query per project.
    summaries = project_summaries(db, user=user, ctx=ctx)
    return [_out(s.project, ctx=ctx, status=s.status, url=s.url) for s in summaries]


@router.get("/{project_id}", response_model=ProjectOut)
def get_project(project_id: str, user: CurrentUser, db: DbSession, ctx: Context) -> ProjectOut:
    project = service.get_project(db, user=user, project_id=project_id)
    return project_out(project, db=db, ctx=ctx)


@router.patch("/{project_id}", response_model=ProjectOut, responses=errors(409, 503))
def update_project(
    *,
    project_id: str,
    body: ProjectUpdate,
    user: CurrentUser,
    db: DbSession,
    ctx: Context,
    ip: ClientIp,
) -> ProjectOut:
    project = service.update_project(
        db, ctx=ctx, user=user, project_id=project_id, data=body, ip=ip
    )
    return project_out(project, db=db, ctx=ctx)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(503))
def delete_project(
    project_id: str, user: CurrentUser, db: DbSession, ctx: Context, ip: ClientIp
) -> None:
    github_projects.delete_project(db, ctx=ctx, user=user, project_id=project_id, ip=ip)
