"""Read-only views for the dashboard: a repository's branches (from GitHub, for the branch
selector) and what a project's GitHub link looks like now (source, webhook health,
lifecycle). "Check for new commits" is the reconciler's (`reconciler.check_project`).

Nothing here changes state. Branches are listed only for a repository the calling user may
pick (the user's own access cache, filled with their token), with an installation token
narrowed to that one repository and `contents: read`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.transactions import end_transaction
from nanoscale.errors import NotFound
from nanoscale.github import models as m
from nanoscale.github.credentials import CLONE_PERMISSIONS
from nanoscale.github.delivery_words import describe
from nanoscale.github.runtime import gateway_for

MAX_BRANCHES = 100


@dataclass(frozen=True)
class Branches:
    full_name: str
    private: bool
    archived: bool
    names: list[str]
    default: str


def repository_branches(
    db: Session, *, ctx: AppContext, user: User, installation_id: int, repo_id: int
) -> Branches:
    """Up to 100 branch names, the default branch first."""
    repo = db.scalar(
        select(m.GitHubRepository)
        .join(m.GitHubRepositoryAccess,
              m.GitHubRepositoryAccess.repo_id == m.GitHubRepository.repo_id)
        .where(m.GitHubRepositoryAccess.local_user_id == user.id,
               m.GitHubRepositoryAccess.installation_id == installation_id,
               m.GitHubRepository.repo_id == repo_id)
    )  # fmt: skip
    if repo is None:
        raise NotFound(
            "no such repository in that installation (or your GitHub account cannot access it)",
            code="github_repository_not_accessible",
        )
    full_name, default = repo.full_name, repo.default_branch
    private, archived = repo.is_private, repo.archived or repo.disabled
    end_transaction(db)  # nothing stays locked while GitHub answers
    gateway = gateway_for(ctx)
    token = gateway.installation_token(
        installation_id, repo_ids=[repo_id], permissions=CLONE_PERMISSIONS
    )
    answer = gateway.request(
        "GET", f"/repos/{full_name}/branches?per_page={MAX_BRANCHES}",
        auth=f"Bearer {token}", rate_key="installation",
    )  # fmt: skip
    names = [str(b["name"]) for b in answer.json() if isinstance(b, dict) and "name" in b]
    ordered = [default, *sorted(n for n in names if n != default)]
    return Branches(full_name, private, archived, ordered, default)


# Why a repository hook could not be made (`link.webhook_error` holds the error code).
HOOK_ERRORS = {
    "github_access_lost": "GitHub refused: the App lacks the Webhooks (write) permission on "
    "this repository — grant it in the App's settings and accept it on the installation",
    "github_rejected": "GitHub refused the webhook's settings",
    "github_auth_failed": "GitHub refused the App's credentials (see Check GitHub in Settings)",
    "github_unavailable": "GitHub could not be reached when the project was linked",
    "github_rate_limited": "GitHub's rate limit was reached when the project was linked",
    "github_not_configured": "the GitHub App was not configured when the project was linked",
}


def hook_problem(code: str | None) -> str | None:
    if not code:
        return None
    return HOOK_ERRORS.get(code, f"GitHub refused to create it ({code.replace('_', ' ')})")


@dataclass(frozen=True)
class ProjectSource:
    """A GitHub project's source as the dashboard shows it."""

    full_name: str
    html_url: str
    branch: str
    private: bool
    archived: bool
    active: bool
    suspended: bool
    webhook_id: int | None
    webhook_error: str | None
    last_delivery: dict[str, Any] | None
    moved_at: datetime | None = None  # renamed or transferred on GitHub since it was linked

    @property
    def webhook_problem(self) -> str | None:
        return hook_problem(self.webhook_error)


def project_source(db: Session, *, project_id: str) -> ProjectSource | None:
    link = db.scalar(
        select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.project_id == project_id)
    )
    if link is None:
        return None
    repo = db.scalar(select(m.GitHubRepository).where(m.GitHubRepository.repo_id == link.repo_id))
    installation = db.scalar(
        select(m.GitHubInstallation).where(
            m.GitHubInstallation.installation_id == link.installation_id
        )
    )
    last = db.scalar(
        select(m.GitHubWebhookDelivery)
        .where(m.GitHubWebhookDelivery.repo_id == link.repo_id)
        .order_by(m.GitHubWebhookDelivery.created_at.desc())
        .limit(1)
    )
    moved = db.scalar(
        select(m.GitHubWebhookDelivery.created_at)
        .where(m.GitHubWebhookDelivery.repo_id == link.repo_id,
               m.GitHubWebhookDelivery.event_type == "repository",
               m.GitHubWebhookDelivery.action.in_(("renamed", "transferred")),
               m.GitHubWebhookDelivery.created_at >= link.created_at)
        .order_by(m.GitHubWebhookDelivery.created_at.desc())
        .limit(1)
    )  # fmt: skip
    return ProjectSource(
        moved_at=moved,
        full_name=link.full_name,
        html_url=repo.html_url if repo else "",
        branch=link.selected_branch,
        private=bool(repo and repo.is_private),
        archived=bool(repo and repo.archived),
        active=link.active,
        suspended=bool(installation and installation.suspended),
        webhook_id=link.webhook_id,
        webhook_error=link.webhook_error,
        last_delivery=_delivery(last) if last else None,
    )


def _delivery(row: m.GitHubWebhookDelivery) -> dict[str, Any]:
    received: datetime = row.created_at
    return {"event": row.event_type, "outcome": row.outcome, "reason": row.reason,
            "summary": _said(row), "deployment_ids": list(row.deployment_ids or []),
            "received_at": received}  # fmt: skip


def _said(row: m.GitHubWebhookDelivery) -> str:
    """A push as "push to main: deployment started"; other events with their name in front."""
    words = describe(row)
    if words.ref_name is not None:
        return words.summary
    action = f" ({row.action})" if row.action else ""
    return f"{row.event_type}{action}: {words.summary}"
