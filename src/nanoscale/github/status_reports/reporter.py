"""The status reporter: a background loop (one daemon thread, started by the app lifespan next
to the deploy worker) that brings GitHub up to date with NanoScale's deployments.

Each pass: learn the permissions of installations never listed (`GET /app/installations/{id}`
with the App JWT), enrol new deployments, then post what changed, each job outside any database
transaction. A failed post is retried with exponential backoff (GitHub's Retry-After honoured)
and given up after MAX_ATTEMPTS; progress is saved step by step and each job is claimed in the
database first, so nothing is posted twice after a failure or a restart, or by two reporters.
Nothing here touches a deployment: GitHub down or refusing never blocks or fails one.
`run_once()` is one pass (tests call it directly).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, update

from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.deployments.queue.sql import changed
from nanoscale.errors import NanoScaleError
from nanoscale.github import models as m
from nanoscale.github.errors import GitHubAccessLost, GitHubRateLimited, GitHubRejected
from nanoscale.github.runtime import gateway_for
from nanoscale.github.status_reports.models import GitHubStatusReport as Report
from nanoscale.github.status_reports.post import post_job
from nanoscale.github.status_reports.scan import Job, due, enrol, unknown_permissions
from nanoscale.github.status_reports.states import is_final
from nanoscale.logs import get_logger

log = get_logger("nanoscale.github.status_reports")
COMPONENT = "github_status_reporter"
POLL_SECONDS = 2.0
MAX_ATTEMPTS = 12
FIRST_BACKOFF = timedelta(seconds=15)
MAX_BACKOFF = timedelta(hours=1)
CLAIM = timedelta(seconds=60)  # one job's posts take seconds; a dead reporter's claim expires


class StatusReporter:
    def __init__(self, ctx: AppContext, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.ctx = ctx
        self.clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Installation id -> when to ask GitHub for its permissions again after a failure.
        self._ask_again_at: dict[int, datetime] = {}

    # -- one pass ----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Report what changed; returns how many deployments had something posted (or tried)."""
        if not self.ctx.settings.github_configured:
            return 0
        self._learn_permissions()
        with session_scope(self.ctx.sessions) as db:
            enrol(db)
        with session_scope(self.ctx.sessions) as db:
            jobs = due(db, ctx=self.ctx, now=self.clock())
        for job in jobs:
            self._report(job)
        return len(jobs)

    def _learn_permissions(self) -> None:
        with session_scope(self.ctx.sessions) as db:
            wanted = unknown_permissions(db)
        for installation_id in wanted:
            if self._ask_again_at.get(installation_id, self.clock()) <= self.clock():
                self._ask_permissions(installation_id)

    def _ask_permissions(self, installation_id: int) -> None:
        gateway = gateway_for(self.ctx)
        try:
            jwt = f"Bearer {gateway.app_jwt()}"
            path = f"/app/installations/{installation_id}"
            answer = gateway.request("GET", path, auth=jwt, rate_key="app")
            permissions = dict(answer.json().get("permissions") or {})
        except GitHubAccessLost:
            permissions = {}  # uninstalled: nothing can be reported
        except NanoScaleError as exc:
            log.warning("github.status_report.permissions_unknown",
                        installation_id=installation_id, error=exc.code)  # fmt: skip
            self._ask_again_at[installation_id] = self.clock() + FIRST_BACKOFF
            return
        self._ask_again_at.pop(installation_id, None)
        with session_scope(self.ctx.sessions) as db:
            db.execute(update(m.GitHubInstallation)
                       .where(m.GitHubInstallation.installation_id == installation_id)
                       .values(permissions=permissions))  # fmt: skip

    def _claim(self, job: Job) -> bool:
        """Take the job for CLAIM_SECONDS, unless another reporter (thread or process) has it
        (`retry_at` in the future: taken or backing off) or got further since the job was read
        (then the job is stale). A reporter that dies mid-job leaves the claim to expire."""
        now = self.clock()
        with session_scope(self.ctx.sessions) as db:
            taken = changed(
                db,
                update(Report)
                .where(Report.deployment_id == job.deployment_id, Report.done.is_(False),
                       or_(Report.retry_at.is_(None), Report.retry_at <= now),
                       _same(Report.reported_state, job.reported),
                       _same(Report.github_deployment_id, job.github_deployment_id))
                .values(retry_at=now + CLAIM),
            )  # fmt: skip
        return taken == 1

    def _report(self, job: Job) -> None:
        if not self._claim(job):
            return

        def created(github_deployment_id: int) -> None:
            self._save(job, github_deployment_id=github_deployment_id)

        def posted(state: str) -> None:
            self._save(job, reported_state=state, done=is_final(job.mode, state))
            log.info("github.status_report.posted", deployment_id=job.deployment_id,
                     mode=job.mode, state=state)  # fmt: skip

        try:
            post_job(gateway_for(self.ctx), job, created=created, posted=posted,
                     base_url=self.ctx.settings.resolved_public_base_url)  # fmt: skip
        except NanoScaleError as exc:
            self._failed(job, exc)
            return
        self._save(job, attempts=0, retry_at=None, last_error=None)

    def _failed(self, job: Job, exc: NanoScaleError) -> None:
        attempts = job.attempts + 1
        wait = min(FIRST_BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)
        if isinstance(exc, GitHubRateLimited):
            wait = max(wait, timedelta(seconds=exc.retry_after))
        if isinstance(exc, GitHubAccessLost | GitHubRejected):
            # Most likely the installation no longer grants the permission (GitHub answers 422
            # to the token request): what GitHub lists now is what the status endpoint shows
            # and what the next deployments are reported by.
            self._ask_permissions(job.installation_id)
            if job.github_deployment_id is None and job.reported is None:
                self._forget(job)  # nothing shown yet: enrolled afresh by what GitHub grants now
                return
        give_up = attempts >= MAX_ATTEMPTS
        self._save(job, attempts=attempts, retry_at=self.clock() + wait, last_error=exc.code,
                   done=give_up)  # fmt: skip
        event = "github.status_report.gave_up" if give_up else "github.status_report.failed"
        log.warning(event, deployment_id=job.deployment_id, mode=job.mode, error=exc.code,
                    attempts=attempts)  # fmt: skip

    def _forget(self, job: Job) -> None:
        with session_scope(self.ctx.sessions) as db:
            db.execute(delete(Report).where(Report.deployment_id == job.deployment_id))

    def _save(self, job: Job, **values: object) -> None:
        with session_scope(self.ctx.sessions) as db:
            db.execute(
                update(Report).where(Report.deployment_id == job.deployment_id).values(**values)
            )

    # -- the loop ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="ns-github-status", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
            except Exception:  # the loop must outlive any one bad pass
                log.exception("github.status_report.pass_failed")
            self._stopping.wait(POLL_SECONDS)


def _same(column: Any, value: object) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def start_status_reporter(ctx: AppContext) -> StatusReporter:
    reporter = StatusReporter(ctx)
    reporter.start()
    ctx.components[COMPONENT] = reporter
    return reporter
