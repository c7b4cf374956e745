"""Tearing a project down before its row is deleted: cancel its work, stop its releases,
remove its route, files and system user."""

from __future__ import annotations

import shutil
import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.db.transactions import outside_transaction
from nanoscale.deployments.backends import backends_for
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.queue.requests import cancel_deployment
from nanoscale.deployments.queue.sql import changed
from nanoscale.deployments.releases import handle_of, project_paths
from nanoscale.deployments.states import ACTIVE_STATES, RUNNING_STATES, DeploymentState
from nanoscale.engine.runtime.kill import kill_build
from nanoscale.engine.runtime.users import remove_project_user
from nanoscale.errors import PlatformError
from nanoscale.logs import get_logger
from nanoscale.projects.models import Project

log = get_logger("nanoscale.deployments")
CANCEL_WAIT_SECONDS = 20.0


def teardown_project(session: Session, *, ctx: AppContext, project: Project) -> None:
    """Cancel the project's work, stop its releases, remove its route, files and system
    user. The cancellation is committed before waiting for the worker to act on it."""
    for deployment in session.scalars(
        select(Deployment).where(
            Deployment.project_id == project.id, Deployment.state.in_(ACTIVE_STATES)
        )
    ):
        cancel_deployment(session, deployment=deployment)
    with outside_transaction(session):
        _wait_for_running(ctx, project.id)
        _stop_everything(ctx, project)


def _stop_everything(ctx: AppContext, project: Project) -> None:
    name = project.name
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
    paths = project_paths(ctx.settings, project.id)
    shutil.rmtree(paths.root, ignore_errors=True)
    shutil.rmtree(paths.published_root, ignore_errors=True)
    try:
        remove_project_user(name, project.id)
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
                .values(state=DeploymentState.CANCELLED, active_sha=None, finished_at=utcnow()),
            )
