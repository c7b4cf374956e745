"""Personal API tokens for scripts and CI: shown once, stored hashed, listable, revocable."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.accounts.models import ApiToken, User
from nanoscale.accounts.secrets_util import digest, new_secret
from nanoscale.db.base import utcnow
from nanoscale.errors import InvalidInput, NotFound
from nanoscale.logs import get_logger

log = get_logger("nanoscale.accounts.tokens")

TOKEN_PREFIX = "nst_"  # noqa: S105 - a public prefix, not a secret
_TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str  # the only time the secret exists outside the client


# What a token name may be (also declared in the OpenAPI description).
TOKEN_NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]{1,100}$"  # noqa: S105 - a pattern, not a secret


def create_token(
    session: Session, *, user: User, name: str, expires_in_days: int | None, ip: str | None
) -> CreatedToken:
    if not re.fullmatch(TOKEN_NAME_PATTERN, name):
        raise InvalidInput(
            "token names are 1-100 characters without control characters", field="name"
        )
    secret = new_secret(TOKEN_PREFIX)
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 4],
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    audit.record(session, action="token.created", actor=user, ip=ip, target=f"token:{token.id}")
    log.info("auth.token.created", user_id=user.id, token_id=token.id)
    return CreatedToken(token=token, secret=secret)


def list_tokens(session: Session, *, user: User) -> Sequence[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
    return session.scalars(query).all()


def revoke_token(session: Session, *, user: User, token_id: str, ip: str | None) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("no such API token", field="token_id")
    session.delete(token)
    audit.record(session, action="token.revoked", actor=user, ip=ip, target=f"token:{token_id}")
    log.info("auth.token.revoked", user_id=user.id, token_id=token_id)


def is_live(session: Session, *, token_hash: str) -> bool:
    """Whether the token with this hash still exists and has not expired (read-only). Open
    log streams ask this while they run, so revoking a token ends them."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))
    return token is not None and (token.expires_at is None or token.expires_at > utcnow())


def authenticate_token(session: Session, *, secret: str) -> User | None:
    """The user behind a bearer secret, or None (unknown, revoked or expired)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 128:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    now = utcnow()
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= _TOUCH_INTERVAL:
        token.last_used_at = now
    return session.get(User, token.user_id)
