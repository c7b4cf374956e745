"""The repository cache: what GitHub's `GET /user/installations/{id}/repositories` answers for
one user's token, 100 per page, each page sent with the ETag it had last time. When every page
answers 304 nothing is rewritten (and, per GitHub, 304s do not count against the rate limit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.db.transactions import end_transaction
from nanoscale.github import models as m
from nanoscale.github.installations import require_installation_access
from nanoscale.github.runtime import gateway_for
from nanoscale.github.user_tokens import with_user_token

PER_PAGE = 100


@dataclass(frozen=True)
class SyncResult:
    installation_id: int
    repositories: int
    changed: bool
    requests: int


def sync_repositories(
    db: Session, *, ctx: AppContext, user: User, installation_id: int, check_access: bool = True
) -> SyncResult:
    """Refresh this user's cached repositories of one installation (access checked first).
    Commits the caller's session first: nothing is locked while GitHub answers."""
    end_transaction(db)
    if check_access:
        require_installation_access(db, ctx=ctx, user=user, installation_id=installation_id)
    gateway = gateway_for(ctx)
    with session_scope(ctx.sessions) as own:
        previous = _sync_row(own, user.id, installation_id)
        cached = _count(own, user.id, installation_id)
        etags = list(previous.page_etags) if previous and any(previous.page_etags) else None
    before = gateway.calls
    path = f"/user/installations/{installation_id}/repositories"

    def _fetch(token: str) -> tuple[list[dict[str, Any]] | None, list[str | None]]:
        auth = f"Bearer {token}"
        if etags:
            conditional = gateway.pages(path, auth=auth, rate_key="user", etags=etags)
            if all(page.status == 304 for page in conditional) and _no_new_page(auth, len(etags)):
                return None, etags
        repos: list[dict[str, Any]] = []
        fresh: list[str | None] = []
        for page in gateway.pages(path, auth=auth, rate_key="user"):
            repos.extend(page.body["repositories"])
            fresh.append(page.etag)
        return repos, fresh

    def _no_new_page(auth: str, pages: int) -> bool:
        """A full last page may have been followed by a new one that no stored ETag covers."""
        if cached % PER_PAGE or cached == 0:
            return True
        extra = gateway.request("GET", path, auth=auth, rate_key="user",
                                params={"per_page": PER_PAGE, "page": pages + 1})  # fmt: skip
        return not extra.json()["repositories"]

    repos, new_etags = with_user_token(ctx, user_id=user.id, call=_fetch)
    with session_scope(ctx.sessions) as own:
        if repos is not None:
            _replace(own, user_id=user.id, installation_id=installation_id, repos=repos)
        row = _sync_row(own, user.id, installation_id)
        if row is None:
            row = m.GitHubRepoSync(local_user_id=user.id, installation_id=installation_id)
            own.add(row)
        row.page_etags = list(new_etags)
        row.synced_at = utcnow()
        count = len(repos) if repos is not None else cached
    return SyncResult(installation_id, count, repos is not None, gateway.calls - before)


def ensure_synced(db: Session, *, ctx: AppContext, user: User, installation_id: int) -> None:
    """The first listing of an installation fills the cache (access was just checked)."""
    end_transaction(db)
    with session_scope(ctx.sessions) as own:
        done = _sync_row(own, user.id, installation_id) is not None
    if not done:
        sync_repositories(db, ctx=ctx, user=user, installation_id=installation_id,
                          check_access=False)  # fmt: skip


def _sync_row(db: Session, user_id: str, installation_id: int) -> m.GitHubRepoSync | None:
    return db.scalar(
        select(m.GitHubRepoSync).where(
            m.GitHubRepoSync.local_user_id == user_id,
            m.GitHubRepoSync.installation_id == installation_id,
        )
    )


def _count(db: Session, user_id: str, installation_id: int) -> int:
    return len(
        db.scalars(
            select(m.GitHubRepositoryAccess.id).where(
                m.GitHubRepositoryAccess.local_user_id == user_id,
                m.GitHubRepositoryAccess.installation_id == installation_id,
            )
        ).all()
    )


def _replace(
    db: Session, *, user_id: str, installation_id: int, repos: list[dict[str, Any]]
) -> None:
    """Upsert the repositories' metadata and set the user's access to exactly these."""
    by_id = {int(r["id"]): r for r in repos}
    existing = {
        row.repo_id: row
        for row in db.scalars(
            select(m.GitHubRepository).where(m.GitHubRepository.repo_id.in_(list(by_id)))
        )
    } if by_id else {}  # fmt: skip
    now = utcnow()
    for repo_id, data in by_id.items():
        row = existing.get(repo_id)
        if row is None:
            row = m.GitHubRepository(repo_id=repo_id)
            db.add(row)
        _fill(row, data, installation_id=installation_id)
        row.last_synced_at = now
    db.flush()
    db.execute(
        delete(m.GitHubRepositoryAccess).where(
            m.GitHubRepositoryAccess.local_user_id == user_id,
            m.GitHubRepositoryAccess.installation_id == installation_id,
        )
    )
    db.add_all(
        m.GitHubRepositoryAccess(
            local_user_id=user_id, installation_id=installation_id, repo_id=repo_id
        )
        for repo_id in by_id
    )


def _fill(row: m.GitHubRepository, data: dict[str, Any], *, installation_id: int) -> None:
    owner = data.get("owner") or {}
    row.installation_id = installation_id
    row.node_id = str(data.get("node_id") or "")
    row.owner_login = str(owner.get("login") or "")
    row.name = str(data["name"])
    row.full_name = str(data["full_name"])
    row.default_branch = str(data.get("default_branch") or "main")
    row.is_private = bool(data.get("private"))
    row.html_url = str(data.get("html_url") or "")
    row.clone_url = str(data.get("clone_url") or "")
    row.archived = bool(data.get("archived"))
    row.disabled = bool(data.get("disabled"))
