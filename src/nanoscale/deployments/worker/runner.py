"""Run one claimed deployment: record each step, heartbeat the lease, honour cancellation,
and write the outcome. The engine does the work; this module only touches records."""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import dataclass, field

import structlog
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from nanoscale.context import AppContext
from nanoscale.crypto import KeyRing
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.deployments.credentials import project_credentials
from nanoscale.deployments.logs.build_log import LogWriter
from nanoscale.deployments.models import STATE_ENTERED_AT, Deployment
from nanoscale.deployments.queue import lease
from nanoscale.deployments.queue.sql import changed
from nanoscale.deployments.releases import (
    current_release,
    handle_of,
    project_paths,
    release_job,
    taken_ports,
)
from nanoscale.deployments.states import RUNNING_STATES, DeploymentState
from nanoscale.deployments.worker.head import resolve_head
from nanoscale.engine.build import BuildControl
from nanoscale.engine.fetch import CommitInfo
from nanoscale.engine.git import secrets_of
from nanoscale.engine.pipeline import Pipeline, ProjectPaths, Step
from nanoscale.engine.ports import pick_release_port
from nanoscale.engine.runtime.base import ReleaseHandle
from nanoscale.engine.runtime.users import Account, ensure_project_user, lookup
from nanoscale.errors import Cancelled, LeaseLost, NanoScaleError, Responsibility
from nanoscale.logs import get_logger
from nanoscale.projects.models import Project
from nanoscale.settings import Settings

log = get_logger("nanoscale.deployments")
MIN_MASKED_LENGTH = 8


@dataclass
class DeploymentRecorder:
    """Writes the pipeline's progress to the deployment's record (step boundaries, the
    fetched commit, the started release, the build's process group) and turns a cancel
    request into `Cancelled` at the next step boundary."""

    sessions: sessionmaker[Session]
    deployment_id: str
    control: BuildControl
    stop_reason: list[NanoScaleError] = field(default_factory=list)

    def step(self, step: Step) -> None:
        state = DeploymentState(step.value)
        with session_scope(self.sessions) as session:
            moved = changed(
                session,
                update(Deployment)
                .where(
                    Deployment.id == self.deployment_id,
                    Deployment.state.in_(RUNNING_STATES),
                    Deployment.cancel_requested.is_(False),
                )
                .values({Deployment.state: state, STATE_ENTERED_AT[state]: utcnow()}),
            )
        if not moved or self.control.cancel.is_set():
            self.control.cancel.set()
            raise (
                self.stop_reason[0]
                if self.stop_reason
                else Cancelled("the deployment was cancelled")
            )
        self.control.log(f"--- {state} ---\n")

    def commit_fetched(self, info: CommitInfo) -> None:
        with session_scope(self.sessions) as session:
            session.execute(
                update(Deployment)
                .where(Deployment.id == self.deployment_id)
                .values(commit_message=info.subject, commit_author=info.author)
            )

    def release_started(self, handle: ReleaseHandle) -> None:
        with session_scope(self.sessions) as session:
            session.execute(
                update(Deployment)
                .where(Deployment.id == self.deployment_id)
                .values(release_port=handle.port, release_ref=handle.ref)
            )

    def record_pgid(self, pgid: int | None) -> None:
        with session_scope(self.sessions) as session:
            session.execute(
                update(Deployment)
                .where(Deployment.id == self.deployment_id)
                .values(build_pgid=pgid)
            )


@dataclass
class Runner:
    sessions: sessionmaker[Session]
    settings: Settings
    keyring: KeyRing
    pipeline: Pipeline
    holder: str
    ctx: AppContext  # credential sources need the application context
    current: dict[str, DeploymentRecorder] = field(default_factory=dict)  # running deployments

    def run(self, deployment_id: str) -> None:
        with session_scope(self.sessions) as session:
            deployment = session.get_one(Deployment, deployment_id)
            project = session.get_one(Project, deployment.project_id)
            session.expunge_all()
        writer = LogWriter(self.sessions, deployment_id)
        writer.start()
        control = BuildControl(log=writer.write)
        recorder = DeploymentRecorder(self.sessions, deployment_id, control)
        control.on_spawn = recorder.record_pgid
        self.current[deployment_id] = recorder
        beat = _Heartbeat(self, project.id, deployment_id, recorder)
        beat.start()
        try:
            # Every log line of this deployment (engine included) names it.
            with structlog.contextvars.bound_contextvars(
                deployment_id=deployment_id, project_id=project.id
            ):
                self._deploy(project, deployment, recorder, writer)
        finally:
            beat.stop()
            writer.close()
            self.current.pop(deployment_id, None)
            with session_scope(self.sessions) as session:
                lease.release(session, project_id=project.id, holder=self.holder)

    def interrupt(self, reason: NanoScaleError) -> None:
        """Stop every running deployment (orchestrator shutdown); they end `failed`."""
        for recorder in list(self.current.values()):
            recorder.stop_reason.append(reason)
            recorder.control.cancel.set()

    def _deploy(
        self,
        project: Project,
        deployment: Deployment,
        recorder: DeploymentRecorder,
        writer: LogWriter,
    ) -> None:
        paths = project_paths(self.settings, project.id)
        try:
            started = time.monotonic()
            credentials = project_credentials(project, ctx=self.ctx)
            secrets = secrets_of(credentials, project.repo_url)
            writer.add_secrets(secrets)
            if secrets:  # a GitHub installation token is minted (or read from its cache) here
                elapsed = (time.monotonic() - started) * 1000
                recorder.control.log(f"Git credentials ready in {elapsed:.0f} ms\n")
            if deployment.commit_sha is None and not resolve_head(
                self.sessions,
                deployment=deployment,
                project=project,
                credentials=credentials,
                log=recorder.control.log,
            ):
                return  # superseded by a deployment of the same commit
            job = release_job(project, deployment, settings=self.settings, keyring=self.keyring)
            # Env values are masked only when long enough to be secrets ("1" would mask every 1).
            writer.add_secrets([v for v in job.env.values() if len(v) >= MIN_MASKED_LENGTH])
            run_as = _project_account(project, paths)
            with session_scope(self.sessions) as session:
                previous = current_release(session, project.id)
                port = pick_release_port(
                    self.settings.release_port_start,
                    self.settings.release_port_end,
                    taken_ports(session),
                )
            handle = self.pipeline.deploy(
                job,
                paths=paths,
                credentials=credentials,
                run_as=run_as,
                port=port,
                progress=recorder,
            )
        except Exception as exc:  # every failure is recorded; nothing escapes the worker
            self._fail(deployment.id, recorder, writer.scrub_error(exc), paths, writer)
            return
        writer.flush()  # the log is whole before the state is final: a follower stops there
        self._go_live(deployment.id, handle)
        if previous is not None and previous.id != deployment.id:
            self._retire(previous, paths)

    def _retire(self, previous: Deployment, paths: ProjectPaths) -> None:
        """Drain and stop the release traffic just left; a failure here only leaves a stray
        process behind (logged), never the new release unserved."""
        try:
            self.pipeline.retire(handle_of(previous), paths)
        except Exception:
            log.exception("deploy.retire_failed", deployment_id=previous.id)
            return
        with session_scope(self.sessions) as session:
            session.execute(
                update(Deployment)
                .where(Deployment.id == previous.id)
                .values(release_stopped_at=utcnow())
            )

    def _go_live(self, deployment_id: str, handle: ReleaseHandle) -> None:
        now = utcnow()
        with session_scope(self.sessions) as session:
            session.execute(
                update(Deployment)
                .where(Deployment.id == deployment_id)
                .values(
                    state=DeploymentState.LIVE,
                    active_sha=None,
                    finished_at=now,
                    build_pgid=None,
                    release_port=handle.port,
                    release_ref=handle.ref,
                )
            )
        log.info("deploy.live")

    def _fail(
        self,
        deployment_id: str,
        recorder: DeploymentRecorder,
        exc: Exception,
        paths: ProjectPaths,
        writer: LogWriter,
    ) -> None:
        if recorder.stop_reason:
            exc = recorder.stop_reason[0]
        if isinstance(exc, Cancelled):
            values: dict[str, str] = {"state": DeploymentState.CANCELLED}
        elif isinstance(exc, NanoScaleError):
            values = {
                "state": DeploymentState.FAILED,
                "error_code": exc.code,
                "error_message": exc.message,
                "error_responsibility": exc.responsibility,
            }
        else:
            log.exception("deploy.internal_error")
            values = {
                "state": DeploymentState.FAILED,
                "error_code": "internal_error",
                "error_message": f"internal error ({type(exc).__name__}); see the server log",
                "error_responsibility": Responsibility.PLATFORM,
            }
        recorder.control.log(f"deployment {values['state']}: {values.get('error_message', '')}\n")
        writer.flush()  # the log is whole before the state is final: a follower stops there
        shutil.rmtree(paths.release(deployment_id), ignore_errors=True)
        with session_scope(self.sessions) as session:
            session.execute(
                update(Deployment)
                .where(Deployment.id == deployment_id)
                .values(
                    **values,
                    active_sha=None,
                    finished_at=utcnow(),
                    build_pgid=None,
                    release_stopped_at=utcnow(),
                )
            )
        log.info("deploy.finished", state=values["state"], error_code=values.get("error_code"))


def _project_account(project: Project, paths: ProjectPaths) -> Account | None:
    name = ensure_project_user(project.name, project.id)
    paths.home.mkdir(parents=True, exist_ok=True)
    if name is None:
        return None
    account = lookup(name)
    if account is None:
        return None
    os.chown(paths.home, account.uid, account.gid)
    paths.home.chmod(0o700)  # the project user's HOME: nobody else's business
    return account


class _Heartbeat:
    """Renews the lease and watches for cancel requests while a deployment runs."""

    def __init__(
        self, runner: Runner, project_id: str, deployment_id: str, recorder: DeploymentRecorder
    ) -> None:
        self._runner = runner
        self._project_id = project_id
        self._deployment_id = deployment_id
        self._recorder = recorder
        self._stop = threading.Event()
        self._interval = min(1.0, runner.settings.lease_seconds / 3)
        self._thread = threading.Thread(target=self._loop, name="ns-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        control = self._recorder.control
        while not self._stop.wait(self._interval):
            try:
                self._beat(control)
            except Exception:
                log.exception("deploy.heartbeat_failed", deployment_id=self._deployment_id)

    def _beat(self, control: BuildControl) -> None:
        with session_scope(self._runner.sessions) as session:
            held = lease.renew(
                session,
                project_id=self._project_id,
                holder=self._runner.holder,
                seconds=self._runner.settings.lease_seconds,
            )
            deployment = session.get(Deployment, self._deployment_id)
            cancelled = deployment is None or deployment.cancel_requested
        if not held:
            self._recorder.stop_reason.append(
                LeaseLost("the orchestrator lost this project's lease; the deployment stopped")
            )
        if (cancelled or not held) and not control.cancel.is_set():
            control.log("cancel requested: stopping the build\n")
            control.cancel.set()
