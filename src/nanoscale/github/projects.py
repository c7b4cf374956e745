"""Creating a project from a GitHub repository (plan §6.3), the trusted path.

The repository is resolved by its numeric id through the installation (never by name), the
calling user's access is checked against GitHub now (the user's own token, via a conditional
re-sync), the branch must exist, and the first deployment is of the branch head's exact SHA.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.base import new_id
from nanoscale.db.engine import session_scope
from nanoscale.db.transactions import outside_transaction
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.service import delete_project_and_teardown, request_deployment
from nanoscale.deployments.states import Trigger
from nanoscale.errors import InvalidInput, NotFound, PlatformError
from nanoscale.github import models as m
from nanoscale.github.credentials import CLONE_PERMISSIONS
from nanoscale.github.errors import GitHubAccessLost
from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.hooks import ensure_repository_hook, release_repository_hook
from nanoscale.github.runtime import gateway_for
from nanoscale.github.sealed import seal
from nanoscale.github.sync import sync_repositories
from nanoscale.logs import get_logger
from nanoscale.projects import service as projects_service
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import GitHubSource, ProjectCreate
from nanoscale.projects.validation import branch_name

log = get_logger("nanoscale.github.projects")


def create_and_deploy(
    db: Session, *, ctx: AppContext, owner: User, data: ProjectCreate, ip: str | None
) -> tuple[Project, Deployment]:
    source = data.github_source
    assert source is not None
    branch = _checked_branch(source)
    repo = _accessible_repository(db, ctx=ctx, user=owner, source=source, ip=ip)
    gateway = gateway_for(ctx)
    fresh = _fresh_repository(gateway, source)  # by id: renames and transfers cannot fool us
    branch = branch or str(fresh["default_branch"])
    sha = _branch_head(gateway, source, full_name=str(fresh["full_name"]), branch=branch)
    clone_url = str(fresh["clone_url"])
    if not ctx.settings.git_url_allowed(clone_url):
        raise PlatformError(
            "GitHub's clone URL is not on an allowed Git host; check NANOSCALE_GITHUB_URL",
            code="github_clone_url_refused",
        )
    trusted = projects_service.TrustedSource(
        provider="github", repo_url=clone_url, repo_id=source.repo_id, branch=branch
    )
    project = projects_service.create_project(
        db, ctx=ctx, owner=owner, data=data, ip=ip, source=trusted
    )
    _link(db, ctx=ctx, project=project, source=source, repo=repo, fresh=fresh, branch=branch)
    audit.record(
        db, action="github.project_created", actor=owner, ip=ip,
        target=f"project:{project.name}",
        details={"project_id": project.id, "repo_id": source.repo_id,
                 "installation_id": source.installation_id, "branch": branch, "sha": sha},
    )  # fmt: skip
    deployment = request_deployment(
        db, project=project, commit_sha=sha, ref=branch, trigger=Trigger.CREATE,
        correlation={"user_id": owner.id},
    )  # fmt: skip
    with outside_transaction(db):  # the project is whole; the hook needs GitHub
        ensure_repository_hook(ctx, project_id=project.id)
    return project, deployment


def _checked_branch(source: GitHubSource) -> str | None:
    if source.selected_branch is None:
        return None
    try:
        return branch_name(source.selected_branch)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="github_source.selected_branch") from None


def _accessible_repository(
    db: Session, *, ctx: AppContext, user: User, source: GitHubSource, ip: str | None
) -> m.GitHubRepository:
    """The cached repository, after re-checking with GitHub that this user may use it (the
    caller's session is committed first: nothing stays locked while GitHub answers)."""
    sync_repositories(db, ctx=ctx, user=user, installation_id=source.installation_id)
    with session_scope(ctx.sessions) as db:  # noqa: PLR1704
        repo = db.scalar(
            select(m.GitHubRepository)
            .join(m.GitHubRepositoryAccess,
                  m.GitHubRepositoryAccess.repo_id == m.GitHubRepository.repo_id)
            .where(m.GitHubRepositoryAccess.local_user_id == user.id,
                   m.GitHubRepositoryAccess.installation_id == source.installation_id,
                   m.GitHubRepository.repo_id == source.repo_id)
        )  # fmt: skip
        if repo is None:
            audit.record(
                db, action="github.access_denied", actor=user, ip=ip,
                target=f"github_repository:{source.repo_id}", details={"step": "create"},
            )  # fmt: skip
        else:
            db.expunge(repo)
    if repo is None:
        raise NotFound(
            "no such repository in that installation (or your GitHub account cannot access it)",
            code="github_repository_not_accessible",
            field="github_source.repo_id",
        )
    if repo.disabled:
        raise InvalidInput("that repository is disabled on GitHub", field="github_source.repo_id")
    return repo


def _token(gateway: GitHubGateway, source: GitHubSource) -> str:
    return gateway.installation_token(
        source.installation_id, repo_ids=[source.repo_id], permissions=CLONE_PERMISSIONS
    )


def _fresh_repository(gateway: GitHubGateway, source: GitHubSource) -> dict[str, Any]:
    token = _token(gateway, source)
    response = gateway.request(
        "GET", f"/repositories/{source.repo_id}", auth=f"Bearer {token}", rate_key="installation"
    )
    data: dict[str, Any] = response.json()
    if int(data["id"]) != source.repo_id:
        raise PlatformError("GitHub answered for another repository", code="github_mismatch")
    return data


def _branch_head(
    gateway: GitHubGateway, source: GitHubSource, *, full_name: str, branch: str
) -> str:
    token = _token(gateway, source)
    try:
        response = gateway.request(
            "GET", f"/repos/{full_name}/branches/{quote(branch, safe='/')}",
            auth=f"Bearer {token}", rate_key="installation",
        )  # fmt: skip
    except GitHubAccessLost:
        raise InvalidInput(
            f"the repository has no branch {branch!r}", code="github_branch_not_found",
            field="github_source.selected_branch",
        ) from None  # fmt: skip
    return str(response.json()["commit"]["sha"])


def _link(
    db: Session,
    *,
    ctx: AppContext,
    project: Project,
    source: GitHubSource,
    repo: m.GitHubRepository,
    fresh: dict[str, Any],
    branch: str,
) -> None:
    row_id = new_id()
    secret = secrets.token_hex(32)  # for the repository webhook (push-to-deploy)
    db.add(
        m.ProjectGitHubLink(
            id=row_id,
            project_id=project.id,
            installation_id=source.installation_id,
            repo_id=source.repo_id,
            repo_node_id=str(fresh.get("node_id") or repo.node_id),
            owner_login=str((fresh.get("owner") or {}).get("login") or repo.owner_login),
            repo_name=str(fresh["name"]),
            full_name=str(fresh["full_name"]),
            default_branch=str(fresh["default_branch"]),
            selected_branch=branch,
            webhook_secret_encrypted=seal(ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, row_id, secret),
        )
    )
    db.flush()
    log.info("github.project_created", project_id=project.id, repo_id=source.repo_id)


def delete_project(
    db: Session, *, ctx: AppContext, user: User, project_id: str, ip: str | None
) -> None:
    """Delete a project (any source); a GitHub project's repository hook goes with the last
    project that used it."""
    link = db.scalar(
        select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.project_id == project_id)
    )
    hook = (
        (link.installation_id, link.repo_id, link.full_name, link.webhook_id)
        if link is not None and link.webhook_id is not None
        else None
    )
    delete_project_and_teardown(db, ctx=ctx, user=user, project_id=project_id, ip=ip)
    if hook is None or not ctx.settings.github_configured:
        return
    installation_id, repo_id, full_name, hook_id = hook
    with outside_transaction(db):
        release_repository_hook(ctx, installation_id=installation_id, repo_id=repo_id,
                                full_name=full_name, hook_id=hook_id)  # fmt: skip
