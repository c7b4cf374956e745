"""One reconciler check of one project's GitHub link (see `reconciler.py`).

1. the repository, read by its numeric id (conditional): names, clone URL, default branch,
   archived and private are refreshed, so a rename without a delivery is followed;
2. the selected branch's head (conditional): when it differs from the last commit requested
   for the project (or NanoScale died while deploying it), a deployment is requested with push
   semantics, keyed on (project, branch, SHA), so the late webhook of the same push adds
   nothing;
3. the repository's hook (once per repository per pass, `hooks.check_repository_hook`).

When GitHub refuses the repository and says the link's installation no longer covers it (the
`installation_repositories` or `installation` delivery that said so was missed), the link goes
inactive, as that delivery would have made it; adding the repository back revives it
(webhooks/installation_repositories.py).

GitHub is called outside every transaction; each database step is one short transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select

from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.service import request_deployment
from nanoscale.deployments.states import Trigger
from nanoscale.errors import NanoScaleError
from nanoscale.github import models as m
from nanoscale.github.credentials import CLONE_PERMISSIONS
from nanoscale.github.errors import GitHubAccessLost, GitHubRateLimited, GitHubRejected
from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.hooks import check_repository_hook
from nanoscale.github.repo_metadata import apply_repository
from nanoscale.github.runtime import gateway_for
from nanoscale.logs import get_logger
from nanoscale.projects.models import Project

log = get_logger("nanoscale.github.reconciler")
ORCHESTRATOR_LOST = "orchestrator_lost"  # the worker's recovery: its orchestrator was killed


@dataclass(frozen=True)
class LinkCheck:
    project_id: str
    branch: str
    result: str  # up_to_date | deployed | archived | access_lost | error:<code>
    head_sha: str | None = None
    deployment_id: str | None = None
    hook: str | None = None  # the hook check's action (ok, created, fixed, …, failed)


@dataclass
class Budget:
    """The rate limit left per installation, as GitHub's last answer reported it."""

    reserve: int
    remaining: dict[int, int] = field(default_factory=dict)

    def note(self, installation_id: int, response: httpx.Response) -> None:
        value = response.headers.get("x-ratelimit-remaining", "")
        if value.isdigit():
            self.remaining[installation_id] = int(value)

    def low(self, installation_id: int) -> bool:
        left = self.remaining.get(installation_id)
        return left is not None and left <= self.reserve


@dataclass(frozen=True)
class _Link:
    link_id: str
    project_id: str
    installation_id: int
    repo_id: int
    full_name: str
    branch: str
    archived: bool
    head_sha: str | None
    etags: dict[str, Any]


def check_link(
    ctx: AppContext, *, link_id: str, budget: Budget, hooks_done: set[int], strict: bool = False
) -> LinkCheck | None:
    """None if the link is gone. A GitHub failure is recorded on the link (and raised when
    `strict`); a rate limit is always raised, so the pass stops."""
    link = _snapshot(ctx, link_id)
    if link is None:
        return None
    gateway = gateway_for(ctx)
    try:
        full_name, archived, repo_etag = _repository(ctx, gateway, link, budget)
        etags = {**link.etags, "repo": repo_etag}
        if archived:
            return _record(ctx, link, LinkCheck(link.project_id, link.branch, "archived"), etags)
        head, head_etag = _head(gateway, link, full_name, budget)
    except GitHubRateLimited:
        raise
    except NanoScaleError as exc:
        if isinstance(exc, GitHubAccessLost | GitHubRejected) and _installation_lost(gateway, link):
            log.warning("github.reconcile.access_lost", project_id=link.project_id,
                        installation_id=link.installation_id, repo_id=link.repo_id)  # fmt: skip
            return _deactivate(ctx, link)
        log.warning("github.reconcile.failed", project_id=link.project_id, error=exc.code)
        _record(ctx, link, LinkCheck(link.project_id, link.branch, f"error:{exc.code}"), None)
        if strict:
            raise
        return LinkCheck(link.project_id, link.branch, f"error:{exc.code}")
    check = _request_if_missed(ctx, link, head, {**etags, "head": head_etag})
    if link.repo_id not in hooks_done:
        hooks_done.add(link.repo_id)
        hook = check_repository_hook(ctx, project_id=link.project_id, etag=link.etags.get("hook"))
        _record(ctx, link, None, {"hook": hook.etag})
        check = LinkCheck(**{**check.__dict__, "hook": hook.action})
    return check


def _installation_lost(gateway: GitHubGateway, link: _Link) -> bool:
    """GitHub's word, with the App's own JWT, on whether the link's installation still covers the
    repository (`GET /repos/{owner}/{repo}/installation`: 404 when the App is not installed on
    it, or another installation's id). Anything else is not proof: the error is recorded and
    the next pass asks again."""
    try:
        answer = gateway.request("GET", f"/repos/{link.full_name}/installation",
                                 auth=f"Bearer {gateway.app_jwt()}", rate_key="app")  # fmt: skip
    except GitHubAccessLost:
        return True
    except GitHubRateLimited:
        raise
    except NanoScaleError:
        return False
    return bool(answer.json().get("id") != link.installation_id)


def _deactivate(ctx: AppContext, link: _Link) -> LinkCheck:
    check = LinkCheck(link.project_id, link.branch, "access_lost")
    with session_scope(ctx.sessions) as db:
        row = db.get(m.ProjectGitHubLink, link.link_id)
        if row is not None:
            row.active = False
            row.checked_at, row.check_result = utcnow(), check.result
    return check


def _snapshot(ctx: AppContext, link_id: str) -> _Link | None:
    with session_scope(ctx.sessions) as db:
        row = db.get(m.ProjectGitHubLink, link_id)
        if row is None:
            return None
        cached = db.scalar(
            select(m.GitHubRepository.archived).where(m.GitHubRepository.repo_id == row.repo_id)
        )
        return _Link(row.id, row.project_id, row.installation_id, row.repo_id, row.full_name,
                     row.selected_branch, bool(cached), row.head_sha,
                     dict(row.reconcile_etags or {}))  # fmt: skip


def _token(gateway: GitHubGateway, link: _Link) -> str:
    token = gateway.installation_token(
        link.installation_id, repo_ids=[link.repo_id], permissions=CLONE_PERMISSIONS
    )
    return f"Bearer {token}"


def _repository(
    ctx: AppContext, gateway: GitHubGateway, link: _Link, budget: Budget
) -> tuple[str, bool, str | None]:
    """(full name, archived, ETag) now; a changed description is applied at once."""
    etag = link.etags.get("repo")
    answer = gateway.request("GET", f"/repositories/{link.repo_id}", auth=_token(gateway, link),
                             rate_key="installation", etag=etag)  # fmt: skip
    budget.note(link.installation_id, answer)
    if answer.status_code == 304:
        return link.full_name, link.archived, etag
    repo = answer.json()
    with session_scope(ctx.sessions) as db:
        apply_repository(db, ctx=ctx, repo_id=link.repo_id, repo=repo)
    return str(repo["full_name"]), bool(repo.get("archived")), answer.headers.get("etag")


def _head(
    gateway: GitHubGateway, link: _Link, full_name: str, budget: Budget
) -> tuple[str, str | None]:
    etag = link.etags.get("head") if link.head_sha else None
    answer = gateway.request(
        "GET", f"/repos/{full_name}/branches/{quote(link.branch, safe='/')}",
        auth=_token(gateway, link), rate_key="installation", etag=etag,
    )  # fmt: skip
    budget.note(link.installation_id, answer)
    if answer.status_code == 304 and link.head_sha:
        return link.head_sha, etag
    return str(answer.json()["commit"]["sha"]), answer.headers.get("etag")


def _request_if_missed(ctx: AppContext, link: _Link, head: str, etags: dict[str, Any]) -> LinkCheck:
    """One transaction: the request (if the head was missed) and what this check saw."""
    with session_scope(ctx.sessions) as db:
        project = db.get(Project, link.project_id)
        newest = db.execute(
            select(Deployment.commit_sha, Deployment.error_code)
            .where(Deployment.project_id == link.project_id, Deployment.commit_sha.is_not(None))
            .order_by(Deployment.queued_at.desc(), Deployment.id.desc())
            .limit(1)
        ).first()
        last, lost = (newest[0], newest[1] == ORCHESTRATOR_LOST) if newest else (None, False)
        check = LinkCheck(link.project_id, link.branch, "up_to_date", head)
        # A head already requested is left alone (a failing build is not rebuilt every pass,
        # a rollback not undone), unless NanoScale itself died while deploying it.
        if project is not None and (head != last or lost):
            marker = uuid.uuid4().hex
            deployment = request_deployment(
                db, project=project, commit_sha=head, ref=link.branch, trigger=Trigger.PUSH,
                correlation={"source": "reconciler", "check_id": marker,
                             "before": last or "", "after": head},
            )  # fmt: skip
            if deployment.correlation.get("check_id") == marker:
                log.info("github.reconcile.deployed", project_id=link.project_id, sha=head)
                check = LinkCheck(link.project_id, link.branch, "deployed", head, deployment.id)
        row = db.get(m.ProjectGitHubLink, link.link_id)
        if row is not None:
            row.head_sha = head
            row.reconcile_etags = {**(row.reconcile_etags or {}), **etags}
            row.checked_at, row.check_result = utcnow(), check.result
        return check


def _record(
    ctx: AppContext, link: _Link, check: LinkCheck | None, etags: dict[str, Any] | None
) -> LinkCheck | None:
    with session_scope(ctx.sessions) as db:
        row = db.get(m.ProjectGitHubLink, link.link_id)
        if row is not None:
            if etags is not None:
                row.reconcile_etags = {**(row.reconcile_etags or {}), **etags}
            if check is not None:
                row.checked_at, row.check_result = utcnow(), check.result[:255]
    return check
