"""The deployments service: the one face every caller uses.

User callers (the API, the dashboard, the CLI acting for a project's owner) call the
permission-checked functions below; each one first loads the project through the projects
service, which answers 404 unless the user may see it.

System callers that have authenticated the event themselves (GitHub webhooks after the
signature check, the sync jobs) call `request_deployment`, the trusted entry: it checks no
user, because there is none, and takes the project the caller has already matched.

Everything behind this face is internal to the package:

    queue/    request rules (idempotency, coalescing), the per-project lease, worker wake-ups
    worker/   the loop that claims queued deployments, the runner that executes one, teardown
    reads/    read models for pages and lists (project status and URL, the overview)
    logs/     the build log (write, read, follow) and the running release's own output
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.deployments.logs.build_log import read_log
from nanoscale.deployments.models import Deployment, DeploymentLogChunk
from nanoscale.deployments.queue import requests
from nanoscale.deployments.states import Trigger
from nanoscale.deployments.worker.teardown import teardown_project
from nanoscale.errors import InvalidInput
from nanoscale.projects import service as projects_service
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import ProjectCreate
from nanoscale.projects.service import get_project

__all__ = [
    "Trigger",
    "cancel",
    "create_and_deploy_project",
    "delete_project_and_teardown",
    "get_for_user",
    "list_for_project",
    "log_chunks",
    "redeploy",
    "request_deployment",
    "rollback",
]


# -- the trusted entry for system callers ----------------------------------------------------


def request_deployment(
    session: Session,
    *,
    project: Project,
    commit_sha: str | None,
    ref: str | None = None,
    trigger: Trigger,
    correlation: dict[str, Any] | None = None,
) -> Deployment:
    """Queue a deployment of `project` at `commit_sha` (or of `ref`'s head, which the worker
    resolves) for a caller that has already decided it may: no user is checked. The queue
    rules (`queue.requests`) make it idempotent per active commit and, for `push`, per
    (project, ref, commit), so a redelivered event returns the deployment it already made.
    Returns at once without any network call; the worker does the work after the session
    commits."""
    return requests.request_deployment(
        session,
        project=project,
        commit_sha=commit_sha,
        ref=ref,
        trigger=trigger,
        correlation=correlation,
    )


# -- permission-checked operations for user callers ------------------------------------------


def create_and_deploy_project(
    session: Session,
    *,
    ctx: AppContext,
    owner: User,
    data: ProjectCreate,
    ip: str | None = None,
    pending: Sequence[InvalidInput] = (),
) -> tuple[Project, Deployment]:
    """Check everything first (fields, then repository and branch, see
    `projects.service.check_new_project`), then create the project and request its first
    deployment of the branch head just checked (trigger `create`): what the API and the
    dashboard do on "create". A mistake is a 422 and creates nothing. `pending`: problems
    the caller found in input the service never sees, reported with the others."""
    head = projects_service.check_new_project(session, ctx=ctx, data=data, pending=pending)
    project = projects_service.create_project(session, ctx=ctx, owner=owner, data=data, ip=ip)
    deployment = request_deployment(
        session,
        project=project,
        commit_sha=head,
        trigger=Trigger.CREATE,
        correlation={"user_id": owner.id},
    )
    return project, deployment


def delete_project_and_teardown(
    session: Session, *, ctx: AppContext, user: User, project_id: str, ip: str | None = None
) -> None:
    """Tear the project down (cancel its work, stop its releases, remove its route, files and
    system user), then delete its row: what the API and the dashboard do on "delete"."""
    project = get_project(session, user=user, project_id=project_id)
    teardown_project(session, ctx=ctx, project=project)
    projects_service.delete_project(session, ctx=ctx, user=user, project_id=project_id, ip=ip)


def redeploy(
    session: Session, *, user: User, project_id: str, commit_sha: str | None
) -> Deployment:
    """A manual redeploy: of `commit_sha`, or of the branch head (resolved by the worker, so
    the request never waits on the git host)."""
    project = get_project(session, user=user, project_id=project_id)
    return request_deployment(
        session,
        project=project,
        commit_sha=commit_sha,
        trigger=Trigger.MANUAL,
        correlation={"user_id": user.id},
    )


def rollback(session: Session, *, user: User, project_id: str, deployment_id: str) -> Deployment:
    """Redeploy the exact commit of an earlier deployment of the project that went live."""
    project = get_project(session, user=user, project_id=project_id)
    return requests.rollback(
        session, project=project, deployment_id=deployment_id, correlation={"user_id": user.id}
    )


def list_for_project(
    session: Session, *, user: User, project_id: str, limit: int = 50
) -> Sequence[Deployment]:
    project = get_project(session, user=user, project_id=project_id)
    return requests.list_deployments(session, project_id=project.id, limit=limit)


def get_for_user(session: Session, *, user: User, deployment_id: str) -> Deployment:
    deployment = requests.get_deployment(session, deployment_id)
    get_project(session, user=user, project_id=deployment.project_id)  # 404 unless visible
    return deployment


def cancel(session: Session, *, user: User, deployment_id: str) -> Deployment:
    deployment = get_for_user(session, user=user, deployment_id=deployment_id)
    return requests.cancel_deployment(session, deployment=deployment)


def log_chunks(
    session: Session, *, user: User, deployment_id: str, after_id: int = 0
) -> list[DeploymentLogChunk]:
    get_for_user(session, user=user, deployment_id=deployment_id)
    return read_log(session, deployment_id, after_id=after_id)
