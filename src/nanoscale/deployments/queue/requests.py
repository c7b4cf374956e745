"""The one entry point to a deployment, and the queue rules around it.

`request_deployment` records intent and returns at once; the worker runs it. Rules, each
enforced by the database (a unique constraint or a conditional UPDATE), so they hold across
threads and processes on SQLite and PostgreSQL alike:

- idempotent: a commit already queued or running for the project returns that deployment;
- coalescing: a new request supersedes the project's older queued ones (the worker repeats
  this when it claims work, so concurrent requests still end with only the newest built);
- a redeploy of the live commit is a new deployment (only active ones are deduplicated);
- a `push` is keyed on (project, ref, commit): a commit that already has a deployment that
  did not fail or get cancelled (queued, running, live, superseded, an earlier live) returns
  that deployment, so a late redelivery of an older push never supersedes a newer queued
  commit; a failed or cancelled commit is retried only while no later-requested commit is
  queued, running or deployed. `manual` and `rollback` always queue what they name;
- a request for a branch head (no commit) makes no network call: it is queued without a
  commit, and the worker resolves the head (`git ls-remote`) when it claims it. If that
  commit is by then queued again, the resolved one ends `superseded` (idempotency holds).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nanoscale.db.base import utcnow
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.queue.sql import changed
from nanoscale.deployments.queue.wakeup import wake_workers
from nanoscale.deployments.states import (
    RETRYABLE_STATES,
    RUNNING_STATES,
    DeploymentState,
    Trigger,
)
from nanoscale.engine.git import SHA_RE
from nanoscale.errors import Conflict, InvalidInput, NotFound
from nanoscale.projects.models import Project


def request_deployment(
    session: Session,
    *,
    project: Project,
    commit_sha: str | None,
    ref: str | None = None,
    trigger: Trigger,
    correlation: dict[str, Any] | None = None,
) -> Deployment:
    """Queue a deployment of `commit_sha`, or of `ref`'s head (the project's branch by
    default) when it is None. Returns the queued (or existing) deployment at once and never
    touches the network: a head is resolved by the worker when it claims the deployment
    (a remote that cannot be resolved then fails that deployment, with the reason)."""
    if trigger not in Trigger.__members__.values():
        raise InvalidInput(f"unknown trigger {trigger!r}", field="trigger")
    trigger = Trigger(trigger)
    ref = ref or project.branch
    correlation = dict(correlation or {})
    if commit_sha is None:
        if trigger is Trigger.PUSH:
            raise InvalidInput("a push names its commit", field="commit_sha")
        deployment = Deployment(
            project_id=project.id,
            ref=ref,
            trigger=trigger,
            correlation=correlation,
            state=DeploymentState.QUEUED,
            queued_at=utcnow(),
        )
        session.add(deployment)
        session.flush()
        return _queued(session, project_id=project.id, deployment=deployment)
    commit_sha = commit_sha.strip().lower()
    if not SHA_RE.match(commit_sha):
        raise InvalidInput("commit_sha must be a full 40-character commit SHA", field="commit_sha")
    existing = active_for_commit(session, project.id, commit_sha)
    if existing is not None:
        return existing
    if trigger is Trigger.PUSH:
        known = _known_push_target(session, project_id=project.id, ref=ref, commit_sha=commit_sha)
        if known is not None:
            return known
    deployment = Deployment(
        project_id=project.id,
        commit_sha=commit_sha,
        active_sha=commit_sha,
        ref=ref,
        trigger=trigger,
        correlation=correlation,
        state=DeploymentState.QUEUED,
        queued_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(deployment)
    except IntegrityError:
        existing = active_for_commit(session, project.id, commit_sha)
        if existing is None:
            raise
        return existing
    return _queued(session, project_id=project.id, deployment=deployment)


def _queued(session: Session, *, project_id: str, deployment: Deployment) -> Deployment:
    """The new deployment supersedes the project's older queued ones; the workers are woken
    once the caller commits."""
    supersede_older(session, project_id=project_id, keep=deployment)
    event.listen(session, "after_commit", lambda _s: wake_workers(), once=True)
    return deployment


def active_for_commit(session: Session, project_id: str, commit_sha: str) -> Deployment | None:
    return session.scalar(
        select(Deployment).where(
            Deployment.project_id == project_id, Deployment.active_sha == commit_sha
        )
    )


def _known_push_target(
    session: Session, *, project_id: str, ref: str, commit_sha: str
) -> Deployment | None:
    """A push for a commit NanoScale already handled (a redelivery, or the same push through
    a second hook): its newest deployment that did not fail or get cancelled. For a commit
    whose earlier deployments all failed, the newest of those when a later-requested commit
    is queued, running or was deployed since: re-queuing the older commit would supersede or
    replace the newer one. None when the push should queue a deployment."""
    mine = list(
        session.scalars(
            select(Deployment)
            .where(
                Deployment.project_id == project_id,
                Deployment.ref == ref,
                Deployment.commit_sha == commit_sha,
            )
            .order_by(Deployment.queued_at.desc(), Deployment.id.desc())
        )
    )
    if not mine:
        return None
    for deployment in mine:
        if deployment.state not in RETRYABLE_STATES:
            return deployment
    first_requested = min(d.queued_at for d in mine)
    newer = session.scalar(
        select(Deployment.id)
        .where(
            Deployment.project_id == project_id,
            Deployment.ref == ref,
            Deployment.commit_sha != commit_sha,
            Deployment.queued_at > first_requested,
            Deployment.state.not_in(RETRYABLE_STATES),
        )
        .limit(1)
    )
    return mine[0] if newer is not None else None


def supersede_older(session: Session, *, project_id: str, keep: Deployment) -> int:
    """Older queued deployments of the project become `superseded`; returns how many."""
    return changed(
        session,
        update(Deployment)
        .where(
            Deployment.project_id == project_id,
            Deployment.state == DeploymentState.QUEUED,
            Deployment.id != keep.id,
            Deployment.queued_at <= keep.queued_at,
        )
        .values(state=DeploymentState.SUPERSEDED, active_sha=None, finished_at=utcnow()),
    )


def get_deployment(session: Session, deployment_id: str) -> Deployment:
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound("no such deployment")
    return deployment


def list_deployments(session: Session, *, project_id: str, limit: int = 50) -> list[Deployment]:
    return list(
        session.scalars(
            select(Deployment)
            .where(Deployment.project_id == project_id)
            .order_by(Deployment.queued_at.desc(), Deployment.id.desc())
            .limit(limit)
        )
    )


def cancel_deployment(session: Session, *, deployment: Deployment) -> Deployment:
    """Queued: cancelled at once. Running: flagged; the worker kills the build's process group,
    marks it cancelled and releases the lease within a heartbeat."""
    now = utcnow()
    done = changed(
        session,
        update(Deployment)
        .where(Deployment.id == deployment.id, Deployment.state == DeploymentState.QUEUED)
        .values(state=DeploymentState.CANCELLED, active_sha=None, finished_at=now),
    )
    if not done:
        done = changed(
            session,
            update(Deployment)
            .where(Deployment.id == deployment.id, Deployment.state.in_(RUNNING_STATES))
            .values(cancel_requested=True),
        )
    current = session.get_one(Deployment, deployment.id, populate_existing=True)
    if not done:
        raise Conflict(f"the deployment is already {current.state}", code="deployment_finished")
    return current


def rollback(
    session: Session,
    *,
    project: Project,
    deployment_id: str,
    correlation: dict[str, Any] | None = None,
) -> Deployment:
    """Redeploy the exact commit of an earlier successful deployment of this project."""
    target = session.get(Deployment, deployment_id)
    if target is None or target.project_id != project.id:
        raise NotFound("no such deployment for this project", field="deployment_id")
    if target.state != DeploymentState.LIVE or not target.commit_sha:
        raise Conflict(
            "only a deployment that went live can be rolled back to", code="rollback_target_invalid"
        )
    return request_deployment(
        session,
        project=project,
        commit_sha=target.commit_sha,
        ref=target.ref,
        trigger=Trigger.ROLLBACK,
        correlation={**(correlation or {}), "rollback_of": target.id},
    )
