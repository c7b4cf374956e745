"""What the API offers around the GitHub link: status, repository listing over the cache, and
disconnecting. Repository listing is served from the cache that `sync.py` fills with the
user's own token, so a user only ever sees repositories GitHub lets them see."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.db.transactions import end_transaction
from nanoscale.errors import InvalidInput, NanoScaleError
from nanoscale.github import models as m
from nanoscale.github.delivery_words import describe, redelivery_note
from nanoscale.github.installations import require_installation_access, revoke_access
from nanoscale.github.runtime import gateway_for
from nanoscale.github.sealed import unseal
from nanoscale.github.status_reports.modes import reporting_for
from nanoscale.github.sync import ensure_synced
from nanoscale.logs import get_logger
from nanoscale.projects.models import Project
from nanoscale.projects.service import get_project

log = get_logger("nanoscale.github.service")
MAX_QUERY = 100


def status(db: Session, *, ctx: AppContext, user: User) -> dict[str, Any]:
    if not ctx.settings.github_configured:
        return {"configured": False, "connected": False, "login": None, "avatar_url": None,
                "reconnect_needed": False, "installations": []}  # fmt: skip
    link = db.scalar(select(m.GitHubUserLink).where(m.GitHubUserLink.local_user_id == user.id))
    installations = db.scalars(
        select(m.GitHubInstallation)
        .join(m.GitHubInstallationAccess,
              m.GitHubInstallationAccess.installation_id == m.GitHubInstallation.installation_id)
        .where(m.GitHubInstallationAccess.local_user_id == user.id)
        .order_by(m.GitHubInstallation.account_login)
    ).all()  # fmt: skip
    return {
        "configured": True,
        "connected": link is not None,
        "login": link.github_login if link else None,
        "avatar_url": link.avatar_url if link else None,
        "reconnect_needed": bool(link and link.reconnect_needed),
        "installations": [installation_out(i) for i in installations],
    }


def installation_out(row: m.GitHubInstallation) -> dict[str, Any]:
    return {
        "installation_id": row.installation_id,
        "account_login": row.account_login,
        "account_type": row.account_type,
        "repository_selection": row.repository_selection,
        "suspended": row.suspended,
        # How deployments are reported back on GitHub, and why not when they are not.
        "status_reporting": reporting_for(row.permissions, suspended=row.suspended).to_dict(),
    }


@dataclass(frozen=True)
class RepoPage:
    repositories: list[dict[str, Any]]
    next_cursor: str | None


def list_repositories(
    db: Session,
    *,
    ctx: AppContext,
    user: User,
    installation_id: int,
    cursor: str | None,
    query: str | None,
    limit: int = 50,
) -> RepoPage:
    """Repositories of the installation this user can access, by full name, from the cache."""
    require_installation_access(db, ctx=ctx, user=user, installation_id=installation_id)
    ensure_synced(db, ctx=ctx, user=user, installation_id=installation_id)
    with session_scope(ctx.sessions) as own:
        return search_cache(own, user_id=user.id, installation_id=installation_id,
                            cursor=cursor, query=query, limit=limit)  # fmt: skip


def search_cache(
    db: Session,
    *,
    user_id: str,
    installation_id: int,
    cursor: str | None,
    query: str | None,
    limit: int,
) -> RepoPage:
    repo = m.GitHubRepository
    # Plain columns, not ORM objects: this is the hot path of the repository picker.
    stmt = (
        select(*(getattr(repo, c) for c in _OUT_COLUMNS))
        .join(m.GitHubRepositoryAccess, m.GitHubRepositoryAccess.repo_id == repo.repo_id)
        .where(m.GitHubRepositoryAccess.local_user_id == user_id,
               m.GitHubRepositoryAccess.installation_id == installation_id)
    )  # fmt: skip
    if query:
        if len(query) > MAX_QUERY:
            raise InvalidInput(f"query is limited to {MAX_QUERY} characters", field="query")
        needle = query.strip().lower()
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(repo.full_name).like(f"%{escaped}%", "\\"))
    if cursor:
        after_name, after_id = _decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                repo.full_name > after_name,
                and_(repo.full_name == after_name, repo.repo_id > after_id),
            )
        )
    rows = db.execute(stmt.order_by(repo.full_name, repo.repo_id).limit(limit + 1)).all()
    more = len(rows) > limit
    out = [_row_out(r) for r in rows[:limit]]
    last = out[-1] if out and more else None
    next_cursor = _encode_cursor(last["full_name"], last["repo_id"]) if last else None
    return RepoPage(out, next_cursor)


_OUT_COLUMNS = ("repo_id", "full_name", "owner_login", "name", "default_branch", "is_private",
                "archived", "disabled", "html_url")  # fmt: skip


def _row_out(row: Any) -> dict[str, Any]:
    out = dict(zip(_OUT_COLUMNS, row, strict=True))
    out["private"] = out.pop("is_private")
    return out


def _encode_cursor(full_name: str, repo_id: int) -> str:
    raw = json.dumps([full_name, repo_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        name, repo_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(name), int(repo_id)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidInput("cursor is not one this API returned", field="cursor") from None


def disconnect(db: Session, *, ctx: AppContext, user: User, ip: str | None) -> dict[str, Any]:
    """Revoke the grant at GitHub (best effort), delete the tokens and the user's access rows,
    deactivate the user's project links. Deployed projects keep serving."""
    end_transaction(db)
    with session_scope(ctx.sessions) as own:
        link = own.scalar(select(m.GitHubUserLink).where(m.GitHubUserLink.local_user_id == user.id))
        if link is None:
            return {"disconnected": False, "revoked_at_github": False}
        token = unseal(ctx.keyring, m.ACCESS_TOKEN_CONTEXT, link.id, link.access_token_encrypted)
        login = link.github_login
    revoked = False
    try:
        revoked = gateway_for(ctx).revoke_grant(token)
    except NanoScaleError as exc:  # GitHub down: forget the tokens here anyway
        log.warning("github.disconnect.revoke_failed", user_id=user.id, error=exc.code)
    with session_scope(ctx.sessions) as db:  # noqa: PLR1704 - the caller's is committed
        installation_ids = set(
            db.scalars(
                select(m.GitHubInstallationAccess.installation_id).where(
                    m.GitHubInstallationAccess.local_user_id == user.id
                )
            )
        )
        # Access rows first, then the link: the order GitHub's `github_app_authorization`
        # revocation (which the revoke above triggers) deletes them in, so the two never
        # deadlock on PostgreSQL.
        revoke_access(db, user_id=user.id, installation_ids=installation_ids)
        db.query(m.GitHubUserLink).filter(m.GitHubUserLink.local_user_id == user.id).delete()
        mine = select(Project.id).where(Project.owner_id == user.id)
        db.execute(
            update(m.ProjectGitHubLink)
            .where(m.ProjectGitHubLink.project_id.in_(mine))
            .values(active=False)
        )
        audit.record(
            db, action="github.disconnected", actor=user, ip=ip, target=f"github:{login}",
            details={"revoked_at_github": revoked},
        )  # fmt: skip
    log.info("github.disconnected", user_id=user.id, revoked_at_github=revoked)
    return {"disconnected": True, "revoked_at_github": revoked}


def list_deliveries(
    db: Session, *, user: User, project_id: str, limit: int = 50
) -> list[dict[str, Any]]:
    """Deliveries about the project's repository, newest first: why a push did (not) deploy."""
    project = get_project(db, user=user, project_id=project_id)  # 404 unless visible
    repo_id = project.source_repo_id
    if repo_id is None:
        return []
    rows = db.scalars(
        select(m.GitHubWebhookDelivery)
        .where(m.GitHubWebhookDelivery.repo_id == repo_id)
        .order_by(m.GitHubWebhookDelivery.created_at.desc())
        .limit(limit)
    ).all()
    return [_delivery_out(r) for r in rows]


def _delivery_out(r: m.GitHubWebhookDelivery) -> dict[str, Any]:
    words = describe(r)
    return {
        "delivery_id": r.delivery_id,
        "hook_id": r.hook_id,
        "source": r.source,
        "event": r.event_type,
        "action": r.action,
        "ref": r.ref,
        "before": r.before_sha,
        "after": r.head_commit,
        "outcome": r.outcome,
        "reason": r.reason,
        "deployment_ids": r.deployment_ids,
        "duplicate_of": r.duplicate_of,
        "ref_name": words.ref_name,
        "ref_kind": words.ref_kind,
        "detail": words.detail,
        "summary": words.summary,
        "status_code": r.status_code,
        "received_at": r.created_at,
        "redeliveries": r.redeliveries,
        "last_redelivered_at": r.last_redelivered_at,
        "redelivery_note": redelivery_note(r.redeliveries),
    }
