"""The reconciler: GitHub does not retry a failed delivery, so a push can be missed. One pass
goes over every active project link (least recently checked first) and, per link
(`reconcile_link.check_link`): refreshes the repository's metadata by id, deploys a missed
branch head with push semantics, and checks (re-creates, fixes) the repository hook. Reads
are conditional (an unchanged answer is a 304, which GitHub does not count against the rate
limit). A pass stops early, without error, when an installation's remaining rate limit falls
to `reserve` or GitHub reports the limit spent; the next pass resumes with the links not
checked. It runs every `github_reconcile_interval_seconds` inside `nanoscale serve`
(`reconcile_loop.py`), from `nanoscale github reconcile`, and per project from "Check for new
commits" (dashboard) and `POST /api/projects/{id}/github/check`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.db.transactions import end_transaction
from nanoscale.errors import Conflict, NotFound
from nanoscale.github import models as m
from nanoscale.github.errors import GitHubRateLimited
from nanoscale.github.reconcile_link import Budget, LinkCheck, check_link
from nanoscale.logs import get_logger
from nanoscale.projects.service import get_project

log = get_logger("nanoscale.github.reconciler")
DEFAULT_RESERVE = 100  # requests per installation left for webhooks' work and users


@dataclass
class PassReport:
    checks: list[LinkCheck] = field(default_factory=list)
    stopped: str | None = None  # rate_limit | stopping, when the pass ended early

    @property
    def deployed(self) -> list[LinkCheck]:
        return [c for c in self.checks if c.result == "deployed"]


def reconcile_pass(
    ctx: AppContext,
    *,
    project_id: str | None = None,
    reserve: int = DEFAULT_RESERVE,
    keep_going: Callable[[], bool] = lambda: True,
) -> PassReport:
    """One pass over the active links (or one project's). `keep_going` is asked before each
    link (the loop's shutdown and lease)."""
    report, budget, hooks_done = PassReport(), Budget(reserve), set[int]()
    for link_id, installation_id in _due(ctx, project_id):
        if not keep_going():
            report.stopped = "stopping"
            break
        if budget.low(installation_id):
            report.stopped = "rate_limit"
            break
        try:
            check = check_link(ctx, link_id=link_id, budget=budget, hooks_done=hooks_done)
        except GitHubRateLimited:
            report.stopped = "rate_limit"
            break
        if check is not None:
            report.checks.append(check)
    if report.stopped == "rate_limit":
        log.warning("github.reconcile.rate_limit_low", checked=len(report.checks))
    log.info("github.reconcile.pass", checked=len(report.checks),
             deployed=len(report.deployed), stopped=report.stopped)  # fmt: skip
    return report


def _due(ctx: AppContext, project_id: str | None) -> list[tuple[str, int]]:
    with session_scope(ctx.sessions) as db:
        suspended = select(m.GitHubInstallation.id).where(
            m.GitHubInstallation.installation_id == m.ProjectGitHubLink.installation_id,
            m.GitHubInstallation.suspended.is_(True),
        )
        # A suspended installation gets no tokens: its links wait for `unsuspend`.
        query = select(m.ProjectGitHubLink.id, m.ProjectGitHubLink.installation_id).where(
            m.ProjectGitHubLink.active.is_(True), ~suspended.exists()
        )
        if project_id is not None:
            query = query.where(m.ProjectGitHubLink.project_id == project_id)
        # Never-checked links first, then the longest unchecked: a stopped pass resumes there.
        query = query.order_by(
            m.ProjectGitHubLink.checked_at.is_not(None),
            m.ProjectGitHubLink.checked_at,
            m.ProjectGitHubLink.id,
        )
        return [(row[0], row[1]) for row in db.execute(query)]


def check_project(db: Session, *, ctx: AppContext, user: User, project_id: str) -> LinkCheck:
    """ "Check for new commits" for one project the user may see: the reconciler's check of
    its link, now. GitHub's failures are raised (after being recorded on the link)."""
    get_project(db, user=user, project_id=project_id)  # 404 unless visible
    link = db.scalar(
        select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.project_id == project_id)
    )
    if link is None:
        raise NotFound("this project is not linked to a GitHub repository",
                       code="github_link_missing")  # fmt: skip
    if not link.active:
        raise Conflict("the project's GitHub link is inactive: reconnect GitHub or restore the "
                       "App's access to the repository", code="github_link_inactive")  # fmt: skip
    link_id = link.id
    end_transaction(db)  # nothing stays locked while GitHub answers
    check = check_link(ctx, link_id=link_id, budget=Budget(0), hooks_done=set(), strict=True)
    if check is None:
        raise NotFound("this project is not linked to a GitHub repository",
                       code="github_link_missing")  # fmt: skip
    return check
