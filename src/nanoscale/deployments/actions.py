"""Deployment operations as the API and dashboard ask for them: each checks that the user may
see the project (through the projects service) and then uses the queue primitives."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.deployments import service
from nanoscale.deployments.backends import backends_for
from nanoscale.deployments.credentials import project_credentials
from nanoscale.deployments.logs import read_log
from nanoscale.deployments.models import (
    ACTIVE_STATES,
    RUNNING_STATES,
    Deployment,
    DeploymentLogChunk,
)
from nanoscale.deployments.releases import handle_of, project_paths
from nanoscale.deployments.sql import changed
from nanoscale.engine.runtime.kill import kill_build
from nanoscale.engine.runtime.users import remove_project_user
from nanoscale.errors import PlatformError
from nanoscale.logs import get_logger
from nanoscale.projects import service as projects_service
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import ProjectCreate
from nanoscale.projects.service import get_project

log = get_logger("nanoscale.deployments")
CANCEL_WAIT_SECONDS = 20.0


def create_and_deploy_project(
    session: Session, *, ctx: AppContext, owner: User, data: ProjectCreate, ip: str | None = None
) -> tuple[Project, Deployment]:
    """Create a project and request its first deployment (the branch head, trigger `create`):
    what the API and the dashboard do on "create"."""
    project = projects_service.create_project(session, ctx=ctx, owner=owner, data=data, ip=ip)
    return project, deploy_new_project(session, ctx=ctx, project=project, user=owner)


def delete_project_and_teardown(
    session: Session, *, ctx: AppContext, user: User, project_id: str, ip: str | None = None
) -> None:
    """Tear the project down (cancel its work, stop its releases, remove its route, files and
    system user), then delete its row: what the API and the dashboard do on "delete"."""
    teardown_project(session, ctx=ctx, user=user, project_id=project_id)
    projects_service.delete_project(session, ctx=ctx, user=user, project_id=project_id, ip=ip)


def deploy_new_project(
    session: Session, *, ctx: AppContext, project: Project, user: User
) -> Deployment:
    """The first deployment of a freshly created project (branch head, trigger `create`)."""
    return service.request_deployment(
        session,
        project=project,
        commit_sha=None,
        trigger="create",
        correlation={"user_id": user.id},
        credentials=project_credentials(project, ctx=ctx),
    )


def redeploy(
    session: Session, *, ctx: AppContext, user: User, project_id: str, commit_sha: str | None
) -> Deployment:
    """A manual redeploy: of `commit_sha`, or of the branch head resolved now."""
    project = get_project(session, user=user, project_id=project_id)
    return service.request_deployment(
        session,
        project=project,
        commit_sha=commit_sha,
        trigger="manual",
        correlation={"user_id": user.id},
        credentials=project_credentials(project, ctx=ctx),
    )


def rollback(session: Session, *, user: User, project_id: str, deployment_id: str) -> Deployment:
    project = get_project(session, user=user, project_id=project_id)
    return service.rollback(
        session, project=project, deployment_id=deployment_id, correlation={"user_id": user.id}
    )


def list_for_project(
    session: Session, *, user: User, project_id: str, limit: int = 50
) -> Sequence[Deployment]:
    project = get_project(session, user=user, project_id=project_id)
    return service.list_deployments(session, project_id=project.id, limit=limit)


def get_for_user(session: Session, *, user: User, deployment_id: str) -> Deployment:
    deployment = service.get_deployment(session, deployment_id)
    get_project(session, user=user, project_id=deployment.project_id)  # 404 unless visible
    return deployment


def cancel(session: Session, *, user: User, deployment_id: str) -> Deployment:
    deployment = get_for_user(session, user=user, deployment_id=deployment_id)
    return service.cancel_deployment(session, deployment=deployment)


def log_chunks(
    session: Session, *, user: User, deployment_id: str, after_id: int = 0
) -> list[DeploymentLogChunk]:
    get_for_user(session, user=user, deployment_id=deployment_id)
    return read_log(session, deployment_id, after_id=after_id)


def teardown_project(session: Session, *, ctx: AppContext, user: User, project_id: str) -> None:
    """Before a project row is deleted: cancel its work, stop its releases, remove its route,
    files and system user. Commits the session first so the worker sees the cancellation."""
    project = get_project(session, user=user, project_id=project_id)
    name = project.name
    for deployment in session.scalars(
        select(Deployment).where(
            Deployment.project_id == project.id, Deployment.state.in_(ACTIVE_STATES)
        )
    ):
        service.cancel_deployment(session, deployment=deployment)
    session.commit()  # SQLite: release the write lock the worker needs to finish
    _wait_for_running(ctx, project.id)
    backends = backends_for(ctx)
    with session_scope(ctx.sessions) as own:
        releases = own.scalars(
            select(Deployment).where(
                Deployment.project_id == project.id, Deployment.release_ref.is_not(None)
            )
        ).all()
        for deployment in releases:
            if deployment.release_stopped_at is None:
                backends.runtime.stop(handle_of(deployment), grace_seconds=5)
                deployment.release_stopped_at = utcnow()
    backends.proxy.remove(project.id)
    shutil.rmtree(project_paths(ctx.settings, project.id).root, ignore_errors=True)
    try:
        remove_project_user(name)
    except PlatformError as exc:  # the deletion goes on; the operator can remove the user later
        log.warning("deploy.project_user_not_removed", project=name, error=exc.message)


def _wait_for_running(ctx: AppContext, project_id: str) -> None:
    """Give the worker time to stop a running build; then stop it ourselves."""
    deadline = time.monotonic() + CANCEL_WAIT_SECONDS
    while time.monotonic() < deadline:
        with session_scope(ctx.sessions) as own:
            running = own.scalars(
                select(Deployment).where(
                    Deployment.project_id == project_id, Deployment.state.in_(RUNNING_STATES)
                )
            ).all()
            if not running:
                return
        time.sleep(0.1)
    with session_scope(ctx.sessions) as own:
        for deployment in own.scalars(
            select(Deployment).where(
                Deployment.project_id == project_id, Deployment.state.in_(RUNNING_STATES)
            )
        ):
            kill_build(deployment_id=deployment.id, pgid=deployment.build_pgid)
            changed(
                own,
                update(Deployment)
                .where(Deployment.id == deployment.id)
                .values(state="cancelled", active_sha=None, finished_at=utcnow()),
            )
