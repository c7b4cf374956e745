"""Repairing what a dead orchestrator left behind (at start, then every few seconds).

`recover` fails running deployments whose lease holder is gone: their build processes are
killed and a half-started release is discarded when the holder was on this host (another
host's processes are not ours to end), and their leases are released, as are other expired
leases and those of dead holders on this host. `restore_releases` re-adopts every live
release in the runtime and re-installs its route after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.deployments.backends import Backends
from nanoscale.deployments.models import Deployment, ProjectLease
from nanoscale.deployments.queue import lease
from nanoscale.deployments.releases import (
    handle_of,
    project_paths,
    release_job,
    release_spec,
    route_of,
)
from nanoscale.deployments.states import RUNNING_STATES, DeploymentState
from nanoscale.deployments.worker.runner import Runner
from nanoscale.engine.pipeline import Pipeline
from nanoscale.engine.runtime.kill import kill_build
from nanoscale.errors import PlatformError, Responsibility
from nanoscale.logs import get_logger
from nanoscale.projects.models import Project

log = get_logger("nanoscale.deployments.worker.recovery")


def recover(ctx: AppContext, *, pipeline: Pipeline, runners: Sequence[Runner]) -> int:
    """Fail running deployments whose holder is gone; returns how many. `runners` are this
    worker's own: their deployments are orphaned only once the runner dropped them."""
    repaired = 0
    with session_scope(ctx.sessions) as session:
        running = list(
            session.scalars(select(Deployment).where(Deployment.state.in_(RUNNING_STATES)))
        )
        stale = [d for d in running if _orphaned(session, d, runners)]
        for deployment in stale:
            held = lease.current(session, deployment.project_id)
            if held is None or lease.is_local(held.holder):  # its processes are ours to end
                _clean_up_orphan(ctx, pipeline, deployment)
            session.execute(
                update(Deployment)
                .where(Deployment.id == deployment.id, Deployment.state.in_(RUNNING_STATES))
                .values(
                    state=DeploymentState.FAILED,
                    active_sha=None,
                    finished_at=utcnow(),
                    build_pgid=None,
                    release_stopped_at=utcnow(),
                    error_code="orchestrator_lost",
                    error_message="the orchestrator running this deployment stopped before it "
                    "finished; redeploy to try again",
                    error_responsibility=Responsibility.PLATFORM,
                )
            )
            lease.release(session, project_id=deployment.project_id)
            repaired += 1
        _drop_dead_leases(session, runners)
    return repaired


def restore_releases(ctx: AppContext, *, pipeline: Pipeline, backends: Backends) -> None:
    """Re-adopt the live release of every project and re-install its route."""
    settings = ctx.settings
    with session_scope(ctx.sessions) as session:
        live = list(
            session.scalars(
                select(Deployment).where(
                    Deployment.state == DeploymentState.LIVE,
                    Deployment.release_stopped_at.is_(None),
                )
            )
        )
        pairs = [(d, session.get_one(Project, d.project_id)) for d in live]
        session.expunge_all()
    jobs = [(d, release_job(p, d, settings=settings, keyring=ctx.keyring)) for d, p in pairs]
    paths = {d.id: project_paths(settings, d.project_id) for d, _ in jobs}
    specs = [
        release_spec(job, d, paths[d.id])
        for d, job in jobs
        if job.start_command and not job.output_directory
    ]
    for d, job in jobs:
        pipeline.ensure_published(job, paths[d.id])
    try:
        backends.runtime.adopt([handle_of(d) for d, _ in jobs], specs)
        backends.proxy.restore([route_of(job, d, paths[d.id]) for d, job in jobs])
    except PlatformError as exc:
        log.error("deploy.restore_failed", error=exc.message)


def _orphaned(session: Session, deployment: Deployment, runners: Sequence[Runner]) -> bool:
    held = lease.current(session, deployment.project_id)
    if held is None or held.deployment_id != deployment.id:
        return True
    own = _own_runner(runners, held.holder)
    if own is not None:
        return deployment.id not in own.current
    return held.expires_at < utcnow() or lease.holder_is_dead_local(held.holder)


def _own_runner(runners: Sequence[Runner], holder: str) -> Runner | None:
    return next((r for r in runners if r.holder == holder), None)


def _clean_up_orphan(ctx: AppContext, pipeline: Pipeline, deployment: Deployment) -> None:
    kill_build(deployment_id=deployment.id, pgid=deployment.build_pgid)
    if deployment.release_ref:
        pipeline.discard(handle_of(deployment), project_paths(ctx.settings, deployment.project_id))


def _drop_dead_leases(session: Session, runners: Sequence[Runner]) -> None:
    grace = utcnow() - timedelta(seconds=1)
    for held in session.scalars(select(ProjectLease)):
        if _own_runner(runners, held.holder) is None and (
            held.expires_at < grace or lease.holder_is_dead_local(held.holder)
        ):
            lease.release(session, project_id=held.project_id, holder=held.holder)
