"""Claiming work: a project's lease first, then that project's newest queued deployment.

Projects are visited oldest waiting first. Claiming the newest deployment supersedes the
older queued ones (bursts coalesce to the newest commit), and the claim itself is a
conditional UPDATE, so two holders never run the same deployment. A project whose queue
emptied meanwhile gets its lease back at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.queue import lease
from nanoscale.deployments.queue.requests import supersede_older
from nanoscale.deployments.queue.sql import changed
from nanoscale.deployments.states import DeploymentState


@dataclass(frozen=True)
class Claim:
    project_id: str
    deployment_id: str


def claim_next(
    sessions: sessionmaker[Session], *, holder: str, lease_seconds: float
) -> Claim | None:
    """Lease the first project with queued work and move its newest deployment to fetching."""
    for project_id in _projects_with_queued(sessions):
        with session_scope(sessions) as session:
            if not lease.acquire(
                session, project_id=project_id, holder=holder, seconds=lease_seconds
            ):
                continue
            deployment_id = _claim_newest(session, project_id)
            if deployment_id is None:
                lease.release(session, project_id=project_id, holder=holder)
                continue
            lease.attach(session, project_id=project_id, holder=holder, deployment_id=deployment_id)
            return Claim(project_id, deployment_id)
    return None


def _projects_with_queued(sessions: sessionmaker[Session]) -> list[str]:
    with session_scope(sessions) as session:
        rows = session.execute(
            select(Deployment.project_id, func.min(Deployment.queued_at).label("first"))
            .where(Deployment.state == DeploymentState.QUEUED)
            .group_by(Deployment.project_id)
            .order_by("first")
        )
        return [row[0] for row in rows]


def _claim_newest(session: Session, project_id: str) -> str | None:
    newest = session.scalar(
        select(Deployment)
        .where(Deployment.project_id == project_id, Deployment.state == DeploymentState.QUEUED)
        .order_by(Deployment.queued_at.desc(), Deployment.id.desc())
        .limit(1)
    )
    if newest is None:
        return None
    supersede_older(session, project_id=project_id, keep=newest)
    claimed = changed(
        session,
        update(Deployment)
        .where(Deployment.id == newest.id, Deployment.state == DeploymentState.QUEUED)
        .values(state=DeploymentState.FETCHING, fetching_at=utcnow()),
    )
    return newest.id if claimed else None
