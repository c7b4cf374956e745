"""The user's GitHub token, refreshed before it expires (GitHub's user tokens last 8 hours).

GitHub rotates refresh tokens: a used one never works again. So refreshes of one user are
serialized (a per-user lock in this process, plus a row lock on PostgreSQL for other
processes), the link is re-read under the lock (a concurrent request may have refreshed it
already), and the new access + refresh pair is saved in one transaction. A refresh GitHub
refuses marks the link "reconnect needed" and is audited.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.errors import Conflict
from nanoscale.github import models as m
from nanoscale.github.errors import GitHubAuthFailed, GitHubReconnectNeeded
from nanoscale.github.gateway import GitHubGateway, OAuthError, TokenGrant
from nanoscale.github.runtime import gateway_for
from nanoscale.github.sealed import seal, unseal
from nanoscale.logs import get_logger

log = get_logger("nanoscale.github.user_tokens")
REFRESH_MARGIN = timedelta(minutes=5)
T = TypeVar("T")

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(user_id: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(user_id, threading.Lock())


class GitHubNotConnected(Conflict):
    default_code = "github_not_connected"


def store_grant(link: m.GitHubUserLink, grant: TokenGrant, *, ctx: AppContext) -> None:
    ring = ctx.keyring
    link.access_token_encrypted = seal(ring, m.ACCESS_TOKEN_CONTEXT, link.id, grant.access_token)
    link.refresh_token_encrypted = (
        seal(ring, m.REFRESH_TOKEN_CONTEXT, link.id, grant.refresh_token)
        if grant.refresh_token
        else None
    )
    link.token_expires_at = grant.expires_at
    link.refresh_token_expires_at = grant.refresh_expires_at
    link.reconnect_needed = False


def with_user_token(ctx: AppContext, *, user_id: str, call: Callable[[str], T]) -> T:
    """Run `call(token)`; if GitHub says the token is bad (401), refresh once and retry; a
    second refusal means the grant is gone: the link is marked reconnect-needed."""
    token = user_access_token(ctx, user_id=user_id)
    try:
        return call(token)
    except GitHubAuthFailed:
        token = _refresh(ctx, user_id=user_id, rejected=token)
    try:
        return call(token)
    except GitHubAuthFailed:
        mark_reconnect_needed(ctx, user_id=user_id, reason="token_rejected")
        raise _reconnect() from None


def user_access_token(ctx: AppContext, *, user_id: str) -> str:
    gateway = gateway_for(ctx)
    with session_scope(ctx.sessions) as db:
        link = _link(db, user_id)
        if not _expiring(link, gateway.clock()):
            return unseal(ctx.keyring, m.ACCESS_TOKEN_CONTEXT, link.id, link.access_token_encrypted)
    return _refresh(ctx, user_id=user_id, rejected=None)


def _refresh(ctx: AppContext, *, user_id: str, rejected: str | None) -> str:
    gateway = gateway_for(ctx)
    with _lock_for(user_id):
        failed = False
        with session_scope(ctx.sessions) as db:
            link = _link(db, user_id, for_update=True)
            current = unseal(
                ctx.keyring, m.ACCESS_TOKEN_CONTEXT, link.id, link.access_token_encrypted
            )
            if rejected is None and not _expiring(link, gateway.clock()):
                return current  # refreshed by a concurrent request while we waited
            if rejected is not None and current != rejected:
                return current
            grant = _refresh_grant(ctx, gateway, link)
            if grant is None:
                failed = True
                _mark(db, link, reason="refresh_refused")
            else:
                store_grant(link, grant, ctx=ctx)
                log.info("github.user_token.refreshed", user_id=user_id)
        if failed or grant is None:
            raise _reconnect()
        return grant.access_token


def _refresh_grant(
    ctx: AppContext, gateway: GitHubGateway, link: m.GitHubUserLink
) -> TokenGrant | None:
    if link.refresh_token_encrypted is None:
        return None
    if link.refresh_token_expires_at and link.refresh_token_expires_at <= gateway.clock():
        return None
    refresh = unseal(ctx.keyring, m.REFRESH_TOKEN_CONTEXT, link.id, link.refresh_token_encrypted)
    try:
        return gateway.refresh_user_token(refresh)
    except OAuthError as exc:
        log.warning("github.user_token.refresh_refused", error=exc.error)
        return None


def mark_reconnect_needed(ctx: AppContext, *, user_id: str, reason: str) -> None:
    with session_scope(ctx.sessions) as db:
        link = db.scalar(select(m.GitHubUserLink).where(m.GitHubUserLink.local_user_id == user_id))
        if link is not None and not link.reconnect_needed:
            _mark(db, link, reason=reason)


def _mark(db: Session, link: m.GitHubUserLink, *, reason: str) -> None:
    link.reconnect_needed = True
    audit.record(
        db, action="github.reconnect_needed", actor=None, ip=None,
        target=f"github:{link.github_login}",
        details={"user_id": link.local_user_id, "reason": reason},
        actor_label="github",
    )  # fmt: skip
    log.warning("github.reconnect_needed", user_id=link.local_user_id, reason=reason)


def _link(db: Session, user_id: str, *, for_update: bool = False) -> m.GitHubUserLink:
    query = select(m.GitHubUserLink).where(m.GitHubUserLink.local_user_id == user_id)
    link = db.scalar(query.with_for_update() if for_update else query)
    if link is None:
        raise GitHubNotConnected("connect your GitHub account first")
    if link.reconnect_needed:
        raise _reconnect()
    return link


def _expiring(link: m.GitHubUserLink, now: datetime) -> bool:
    return link.token_expires_at is not None and link.token_expires_at - REFRESH_MARGIN <= now


def _reconnect() -> GitHubReconnectNeeded:
    return GitHubReconnectNeeded(
        "GitHub no longer accepts NanoScale's access to your account; connect GitHub again"
    )
