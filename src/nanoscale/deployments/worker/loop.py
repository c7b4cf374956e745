"""The deployment worker: claims queued deployments one project lease at a time and runs them.

`run_once()` does one unit of work (tests call it directly); `start()` runs it in a loop in
`worker_concurrency` daemon threads (the app lifespan does that when `worker_enabled`), so different
projects build in parallel. Each thread has its own lease holder id: the lease is re-entrant
for one holder, so threads sharing an id could run two deployments of one project at once.
On start the worker first repairs what a dead orchestrator left behind: running deployments
without a live lease holder are marked failed (their build processes killed, a half-started
release stopped) and their leases released; live releases are re-adopted by the runtime and
their routes restored.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.deployments.backends import Backends, backends_for
from nanoscale.deployments.models import Deployment, ProjectLease
from nanoscale.deployments.queue import lease
from nanoscale.deployments.queue.requests import supersede_older
from nanoscale.deployments.queue.sql import changed
from nanoscale.deployments.queue.wakeup import generation, wait_for_work, wake_workers
from nanoscale.deployments.releases import (
    handle_of,
    project_paths,
    release_job,
    release_spec,
    route_of,
)
from nanoscale.deployments.states import RUNNING_STATES, DeploymentState
from nanoscale.deployments.worker.runner import Runner
from nanoscale.engine.isolation import tenant_policy
from nanoscale.engine.pipeline import Limits, Pipeline
from nanoscale.engine.runtime.kill import kill_build
from nanoscale.errors import PlatformError, Responsibility
from nanoscale.logs import get_logger
from nanoscale.projects import git_hosts
from nanoscale.projects.models import Project

log = get_logger("nanoscale.deployments.worker.loop")
RECOVER_EVERY_SECONDS = 10.0
COMPONENT = "deploy_worker"  # where `start_worker` registers it in the app context
# A loop that has not looked for work for this long (and runs nothing) counts as stuck; it
# covers a slow recovery pass (proxy checks) on top of a few poll intervals.
HEARTBEAT_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class Claim:
    project_id: str
    deployment_id: str


class Worker:
    def __init__(
        self,
        ctx: AppContext,
        *,
        backends: Backends | None = None,
        holder: str | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.backends = backends or backends_for(ctx)
        self.holder = holder or lease.new_holder_id()
        settings = ctx.settings
        self.pipeline = Pipeline(
            runtime=self.backends.runtime,
            proxy=self.backends.proxy,
            limits=Limits(
                fetch_timeout=settings.fetch_timeout_seconds,
                build_timeout=settings.build_timeout_seconds,
                health_timeout=settings.health_check_timeout_seconds,
                drain_seconds=settings.drain_seconds,
            ),
            url_allowed=git_hosts.url_checker(ctx.sessions, settings),
            policy=tenant_policy(settings),
        )
        self.runner = Runner(ctx.sessions, settings, ctx.keyring, self.pipeline, self.holder, ctx)
        # One runner (and lease holder id) per thread; the first is `run_once()`'s.
        self.runners = [self.runner] + [
            Runner(ctx.sessions, settings, ctx.keyring, self.pipeline, lease.new_holder_id(), ctx)
            for _ in range(max(1, concurrency or settings.worker_concurrency) - 1)
        ]
        self._stopping = threading.Event()
        self._started = threading.Event()
        self._threads: list[threading.Thread] = []
        self.heartbeat_at: float | None = None  # time.monotonic() the loop last looked for work

    # -- one unit of work --------------------------------------------------------------------

    def run_once(self, runner: Runner | None = None) -> bool:
        """Claim and run at most one deployment (as `runner`'s lease holder); True if one ran."""
        runner = runner or self.runner
        claim = self.claim(holder=runner.holder)
        if claim is None:
            return False
        runner.run(claim.deployment_id)
        return True

    def claim(self, *, holder: str | None = None) -> Claim | None:
        holder = holder or self.holder
        for project_id in self._projects_with_queued():
            with session_scope(self.ctx.sessions) as session:
                if not lease.acquire(
                    session,
                    project_id=project_id,
                    holder=holder,
                    seconds=self.ctx.settings.lease_seconds,
                ):
                    continue
                deployment_id = self._claim_newest(session, project_id)
                if deployment_id is None:
                    lease.release(session, project_id=project_id, holder=holder)
                    continue
                lease.attach(
                    session, project_id=project_id, holder=holder, deployment_id=deployment_id
                )
                return Claim(project_id, deployment_id)
        return None

    def _projects_with_queued(self) -> list[str]:
        with session_scope(self.ctx.sessions) as session:
            rows = session.execute(
                select(Deployment.project_id, func.min(Deployment.queued_at).label("first"))
                .where(Deployment.state == DeploymentState.QUEUED)
                .group_by(Deployment.project_id)
                .order_by("first")
            )
            return [row[0] for row in rows]

    @staticmethod
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

    # -- recovery ----------------------------------------------------------------------------

    def recover(self) -> int:
        """Fail running deployments whose holder is gone; returns how many."""
        repaired = 0
        with session_scope(self.ctx.sessions) as session:
            running = list(
                session.scalars(select(Deployment).where(Deployment.state.in_(RUNNING_STATES)))
            )
            stale = [d for d in running if self._orphaned(session, d)]
            for deployment in stale:
                held = lease.current(session, deployment.project_id)
                if held is None or lease.is_local(held.holder):  # its processes are ours to end
                    self._clean_up_orphan(deployment)
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
            self._drop_dead_leases(session)
        return repaired

    def _orphaned(self, session: Session, deployment: Deployment) -> bool:
        held = lease.current(session, deployment.project_id)
        if held is None or held.deployment_id != deployment.id:
            return True
        own = self._own_runner(held.holder)
        if own is not None:
            return deployment.id not in own.current
        return held.expires_at < utcnow() or lease.holder_is_dead_local(held.holder)

    def _own_runner(self, holder: str) -> Runner | None:
        return next((r for r in self.runners if r.holder == holder), None)

    def _clean_up_orphan(self, deployment: Deployment) -> None:
        kill_build(deployment_id=deployment.id, pgid=deployment.build_pgid)
        if deployment.release_ref:
            self.pipeline.discard(
                handle_of(deployment), project_paths(self.ctx.settings, deployment.project_id)
            )

    def _drop_dead_leases(self, session: Session) -> None:
        grace = utcnow() - timedelta(seconds=1)
        for held in session.scalars(select(ProjectLease)):
            if self._own_runner(held.holder) is None and (
                held.expires_at < grace or lease.holder_is_dead_local(held.holder)
            ):
                lease.release(session, project_id=held.project_id, holder=held.holder)

    def restore_releases(self) -> None:
        """Re-adopt the live release of every project and re-install its route."""
        settings = self.ctx.settings
        with session_scope(self.ctx.sessions) as session:
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
        jobs = [
            (d, release_job(p, d, settings=settings, keyring=self.ctx.keyring)) for d, p in pairs
        ]
        paths = {d.id: project_paths(settings, d.project_id) for d, _ in jobs}
        specs = [
            release_spec(job, d, paths[d.id])
            for d, job in jobs
            if job.start_command and not job.output_directory
        ]
        for d, job in jobs:
            self.pipeline.ensure_published(job, paths[d.id])
        try:
            self.backends.runtime.adopt([handle_of(d) for d, _ in jobs], specs)
            self.backends.proxy.restore([route_of(job, d, paths[d.id]) for d, job in jobs])
        except PlatformError as exc:
            log.error("deploy.restore_failed", error=exc.message)

    # -- the loop ----------------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop in one thread per runner; the first repairs what a previous
        orchestrator left before any of them claims work."""
        self._threads = [
            threading.Thread(target=self._loop, args=(i,), name=f"ns-worker-{i}", daemon=True)
            for i in range(len(self.runners))
        ]
        for thread in self._threads:
            thread.start()

    def _start_up(self) -> None:
        for step in (self.recover, self.restore_releases):
            try:
                step()
            except Exception:  # the loop must run even if, say, the proxy is down
                log.exception("deploy.startup_step_failed", step=step.__name__)

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        reason = PlatformError(
            "the orchestrator stopped during this deployment", code="orchestrator_stopped"
        )
        for runner in self.runners:
            runner.interrupt(reason)
        wake_workers()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def is_alive(self) -> bool:
        """Started, not stopping, every thread alive, and the loop either ticked within a few
        poll intervals or is running a deployment (a long build ticks nothing)."""
        threads = self._threads
        if self._stopping.is_set() or not threads or not all(t.is_alive() for t in threads):
            return False
        if any(runner.current for runner in self.runners):
            return True
        grace = max(3 * self.ctx.settings.worker_poll_seconds, HEARTBEAT_GRACE_SECONDS)
        beat = self.heartbeat_at
        return beat is not None and time.monotonic() - beat <= grace

    def _loop(self, index: int) -> None:
        if index == 0:
            self._start_up()
            self._started.set()
        else:  # claim nothing before recovery has run
            while not self._started.wait(0.1) and not self._stopping.is_set():
                pass
        runner = self.runners[index]
        last_recover = time.monotonic()

        while not self._stopping.is_set():
            self.heartbeat_at = time.monotonic()
            seen = generation()
            try:
                ran = self.run_once(runner)
                if index == 0 and time.monotonic() - last_recover > RECOVER_EVERY_SECONDS:
                    self.recover()
                    self.backends.proxy.ensure_config()
                    last_recover = time.monotonic()
            except Exception:
                log.exception("deploy.worker_error")
                ran = False
            if not ran:
                wait_for_work(self.ctx.settings.worker_poll_seconds, since=seen)


def start_worker(ctx: AppContext) -> Worker:
    """Recover, re-adopt live releases, then run the loop in a thread (the app lifespan)."""
    worker = Worker(ctx)
    worker.start()
    ctx.components[COMPONENT] = worker
    return worker


def registered_worker(ctx: AppContext) -> Worker | None:
    """The worker `start_worker` started for this orchestrator, if any."""
    worker = ctx.components.get(COMPONENT)
    return worker if isinstance(worker, Worker) else None
