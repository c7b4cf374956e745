"""Connecting a NanoScale user to their GitHub account (plan §6.1, §10).

`start` creates a random `state` (stored only as its SHA-256), bound to the user and to the
browser session that started it, single use, valid 10 minutes, plus a PKCE (S256) verifier.
`callback` checks all of that before exchanging the code, reads `/user` and stores the link
with encrypted tokens. One GitHub account per NanoScale user and vice versa.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.base import new_id, utcnow
from nanoscale.db.transactions import end_transaction
from nanoscale.errors import Conflict, Forbidden, InvalidInput
from nanoscale.github import models as m
from nanoscale.github.avatars import shown_avatar
from nanoscale.github.gateway import OAuthError
from nanoscale.github.runtime import gateway_for
from nanoscale.github.sealed import seal, unseal
from nanoscale.github.user_tokens import store_grant
from nanoscale.logs import get_logger

log = get_logger("nanoscale.github.connect")
STATE_TTL = timedelta(minutes=10)
CALLBACK_PATH = "/api/integrations/github/callback"


def callback_url(ctx: AppContext) -> str:
    return f"{ctx.settings.resolved_public_base_url}{CALLBACK_PATH}"


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def start(db: Session, *, ctx: AppContext, user: User, session_id: str | None) -> str:
    """The GitHub authorize URL to send the browser to."""
    gateway_for(ctx)  # 404 github_not_configured before anything is stored
    state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    db.execute(delete(m.GitHubOAuthState).where(m.GitHubOAuthState.expires_at < utcnow()))
    row_id = new_id()
    db.add(
        m.GitHubOAuthState(
            id=row_id,
            state_hash=_hash(state),
            local_user_id=user.id,
            session_id=session_id,
            verifier_encrypted=seal(ctx.keyring, m.VERIFIER_CONTEXT, row_id, verifier),
            expires_at=utcnow() + STATE_TTL,
        )
    )
    query = {
        "client_id": ctx.settings.github_app_client_id,
        "redirect_uri": callback_url(ctx),
        "state": state,
        "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256",
    }
    return f"{ctx.settings.github_url}/login/oauth/authorize?{urlencode(query)}"


@dataclass(frozen=True)
class Connected:
    github_login: str


def consume_state(db: Session, *, ctx: AppContext, user: User, session_id: str, state: str) -> str:
    """Validate and burn `state`; returns the PKCE verifier. Every failure is a 400."""
    row = db.scalar(select(m.GitHubOAuthState).where(m.GitHubOAuthState.state_hash == _hash(state)))
    if row is None:
        raise InvalidInput("unknown GitHub sign-in state; start again", code="github_state_invalid")
    if row.local_user_id != user.id or (row.session_id not in (None, session_id)):
        raise InvalidInput(
            "this GitHub sign-in was started by another session; start again",
            code="github_state_foreign",
        )
    burned = db.execute(
        update(m.GitHubOAuthState)
        .where(m.GitHubOAuthState.id == row.id, m.GitHubOAuthState.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if getattr(burned, "rowcount", 0) != 1:
        raise InvalidInput("this GitHub sign-in was already used; start again",
                           code="github_state_used")  # fmt: skip
    if row.expires_at <= utcnow():
        raise InvalidInput("this GitHub sign-in expired; start again", code="github_state_expired")
    return unseal(ctx.keyring, m.VERIFIER_CONTEXT, row.id, row.verifier_encrypted)


def callback(
    db: Session,
    *,
    ctx: AppContext,
    user: User,
    session_id: str,
    code: str | None,
    state: str | None,
    error: str | None,
    ip: str | None,
) -> Connected:
    """The browser's return from GitHub's authorize page."""
    gateway = gateway_for(ctx)
    if not state or len(state) > 200:
        raise InvalidInput("the GitHub sign-in state is missing; start again",
                           code="github_state_invalid")  # fmt: skip
    verifier = consume_state(db, ctx=ctx, user=user, session_id=session_id, state=state)
    end_transaction(db)  # the state is burned whatever happens next
    if error:
        code_name = "github_access_denied" if error == "access_denied" else "github_oauth_error"
        raise Forbidden("GitHub sign-in was cancelled", code=code_name)
    if not code or len(code) > 200:
        raise InvalidInput("GitHub sent no authorization code", code="github_code_invalid")
    try:
        grant = gateway.exchange_code(code=code, verifier=verifier, redirect_uri=callback_url(ctx))
    except OAuthError:
        raise InvalidInput(
            "GitHub refused the sign-in code (expired or already used); start again",
            code="github_code_invalid",
        ) from None
    profile = gateway.request(
        "GET", "/user", auth=f"Bearer {grant.access_token}", rate_key="user"
    ).json()
    github_id, login = int(profile["id"]), str(profile["login"])
    link = _check_one_to_one(db, user=user, github_id=github_id)
    if link is None:
        link = m.GitHubUserLink(id=new_id(), local_user_id=user.id, github_user_id=github_id)
        db.add(link)
    link.github_login = login
    link.avatar_url = shown_avatar(profile.get("avatar_url"), github_url=ctx.settings.github_url)
    store_grant(link, grant, ctx=ctx)
    audit.record(
        db, action="github.connected", actor=user, ip=ip, target=f"github:{login}",
        details={"github_user_id": github_id},
    )  # fmt: skip
    db.flush()
    log.info("github.connected", user_id=user.id, github_login=login)
    return Connected(github_login=login)


def _check_one_to_one(db: Session, *, user: User, github_id: int) -> m.GitHubUserLink | None:
    mine = db.scalar(select(m.GitHubUserLink).where(m.GitHubUserLink.local_user_id == user.id))
    if mine is not None and mine.github_user_id != github_id:
        raise Conflict(
            f"your NanoScale account is already connected to GitHub as {mine.github_login}; "
            "disconnect it first",
            code="github_already_connected",
        )
    other = db.scalar(
        select(m.GitHubUserLink).where(
            m.GitHubUserLink.github_user_id == github_id, m.GitHubUserLink.local_user_id != user.id
        )
    )
    if other is not None:
        raise Conflict(
            "this GitHub account is already connected to another NanoScale user",
            code="github_account_taken",
        )
    return mine
