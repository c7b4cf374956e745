"""Which installations a user may use: exactly those GitHub lists for the user's own token
(`GET /user/installations`), re-checked on every listing, setup and use. An organization's
installation is shared by every member GitHub shows it to (user ↔ installation access)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.db.transactions import end_transaction
from nanoscale.errors import NotFound
from nanoscale.github import models as m
from nanoscale.github.runtime import gateway_for
from nanoscale.github.user_tokens import with_user_token
from nanoscale.logs import get_logger

log = get_logger("nanoscale.github.installations")


def fetch_user_installations(ctx: AppContext, *, user_id: str) -> list[dict[str, Any]]:
    gateway = gateway_for(ctx)

    def _all(token: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in gateway.pages("/user/installations", auth=f"Bearer {token}", rate_key="user"):
            found.extend(page.body["installations"])
        return found

    return with_user_token(ctx, user_id=user_id, call=_all)


def refresh_installations(
    db: Session, *, ctx: AppContext, user: User
) -> list[m.GitHubInstallation]:
    """Ask GitHub (user token) and record what this user can access now; access to anything
    no longer listed is dropped (with the user's cached repositories of it).

    Like every entry point here, it commits the caller's session first: no database
    transaction (on SQLite: no write lock) is held while GitHub answers."""
    end_transaction(db)
    listed = fetch_user_installations(ctx, user_id=user.id)
    with session_scope(ctx.sessions) as own:
        ids = [upsert_installation(own, item) for item in listed]
        own.flush()
        known = set(
            own.scalars(
                select(m.GitHubInstallationAccess.installation_id).where(
                    m.GitHubInstallationAccess.local_user_id == user.id
                )
            )
        )
        for installation_id in ids:
            if installation_id not in known:
                own.add(m.GitHubInstallationAccess(local_user_id=user.id,
                                                  installation_id=installation_id))  # fmt: skip
        gone = known - set(ids)
        if gone:
            revoke_access(own, user_id=user.id, installation_ids=gone)
        rows = own.scalars(
            select(m.GitHubInstallation)
            .where(m.GitHubInstallation.installation_id.in_(ids))
            .order_by(m.GitHubInstallation.account_login)
        ).all()
        own.expunge_all()
    return list(rows)


def revoke_access(db: Session, *, user_id: str, installation_ids: set[int]) -> None:
    db.execute(
        delete(m.GitHubInstallationAccess).where(
            m.GitHubInstallationAccess.local_user_id == user_id,
            m.GitHubInstallationAccess.installation_id.in_(installation_ids),
        )
    )
    db.execute(
        delete(m.GitHubRepositoryAccess).where(
            m.GitHubRepositoryAccess.local_user_id == user_id,
            m.GitHubRepositoryAccess.installation_id.in_(installation_ids),
        )
    )
    db.execute(
        delete(m.GitHubRepoSync).where(
            m.GitHubRepoSync.local_user_id == user_id,
            m.GitHubRepoSync.installation_id.in_(installation_ids),
        )
    )


def upsert_installation(db: Session, item: dict[str, Any]) -> int:
    installation_id = int(item["id"])
    row = db.scalar(
        select(m.GitHubInstallation).where(m.GitHubInstallation.installation_id == installation_id)
    )
    if row is None:
        row = _insert_installation(db, item)
    _copy_fields(row, item)
    return installation_id


def _copy_fields(row: m.GitHubInstallation, item: dict[str, Any]) -> None:
    account = item.get("account") or {}
    row.account_login = str(account.get("login") or account.get("slug") or "")
    row.account_type = str(account.get("type") or "Enterprise")
    row.target_type = str(item.get("target_type") or row.account_type)
    row.target_id = int(item.get("target_id") or account.get("id") or 0)
    row.repository_selection = str(item.get("repository_selection") or "all")
    row.suspended = item.get("suspended_at") is not None
    if isinstance(item.get("permissions"), dict):  # decides status reporting (status_reports)
        row.permissions = dict(item["permissions"])
    row.updated_at = utcnow()


def _insert_installation(db: Session, item: dict[str, Any]) -> m.GitHubInstallation:
    """The setup callback, a user's refresh and the `installation` webhook can record the
    same new installation at once: the unique index decides, the loser updates the winner's row."""
    installation_id = int(item["id"])
    row = m.GitHubInstallation(installation_id=installation_id)
    _copy_fields(row, item)
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
        return row
    except IntegrityError:
        won = db.scalar(
            select(m.GitHubInstallation).where(
                m.GitHubInstallation.installation_id == installation_id
            )
        )
        if won is None:  # the winner rolled back: nothing to race with any more
            raise
        return won


def record_setup(
    db: Session, *, ctx: AppContext, user: User, installation_id: int, ip: str | None
) -> m.GitHubInstallation:
    """The App's Setup URL: `installation_id` is untrusted until the user's own token lists it."""
    rows = refresh_installations(db, ctx=ctx, user=user)
    match = next((r for r in rows if r.installation_id == installation_id), None)
    with session_scope(ctx.sessions) as own:
        if match is None:
            audit.record(
                own, action="github.access_denied", actor=user, ip=ip,
                target=f"github_installation:{installation_id}", details={"step": "setup"},
            )  # fmt: skip
        else:
            audit.record(
                own, action="github.installation_recorded", actor=user, ip=ip,
                target=f"github_installation:{installation_id}",
                details={"account": match.account_login},
            )  # fmt: skip
    if match is None:
        log.warning("github.setup.installation_not_accessible", user_id=user.id)
        raise NotFound(
            "that GitHub installation is not accessible to your GitHub account",
            code="github_installation_not_accessible",
        )
    return match


def require_installation_access(
    db: Session, *, ctx: AppContext, user: User, installation_id: int
) -> None:
    """Checked against GitHub now (a user removed from an organization loses access)."""
    rows = refresh_installations(db, ctx=ctx, user=user)
    if not any(r.installation_id == installation_id for r in rows):
        with session_scope(ctx.sessions) as own:
            audit.record(
                own, action="github.access_denied", actor=user, ip=None,
                target=f"github_installation:{installation_id}", details={"step": "use"},
            )  # fmt: skip
        raise NotFound(
            "no such GitHub installation (or it is not accessible to your GitHub account)",
            code="github_installation_not_accessible",
        )
