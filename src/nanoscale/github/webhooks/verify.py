"""Signature checks over the raw request bytes (HMAC-SHA256, constant-time), against every
secret that may legitimately sign the delivery: the App's for App deliveries, the repository
hook's own for repository-hook deliveries (found by `X-GitHub-Hook-ID`)."""

from __future__ import annotations

import hashlib
import hmac
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.github import models as m
from nanoscale.github.sealed import unseal

SIGNATURE_RE = re.compile(r"^sha256=([0-9a-f]{64})$")


def signature_matches(secret: bytes, body: bytes, header: str | None) -> bool:
    match = SIGNATURE_RE.match(header or "")
    if match is None:
        return False  # missing, malformed or sha1-only
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(1))


def candidate_secrets(
    db: Session, *, ctx: AppContext, target_type: str | None, hook_id: int
) -> list[bytes]:
    """The secrets that may sign a delivery from this source (none: it cannot be genuine)."""
    if target_type == "repository":
        rows = db.execute(
            select(m.ProjectGitHubLink.id, m.ProjectGitHubLink.webhook_secret_encrypted).where(
                m.ProjectGitHubLink.webhook_id == hook_id
            )
        ).all()
        found = {unseal(ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, i, v) for i, v in rows}
        return [s.encode() for s in sorted(found)]
    app_secret = ctx.settings.github_webhook_secret
    if app_secret is None or target_type not in (None, "integration"):
        return []
    return [app_secret.get_secret_value().encode()]


def verified(
    db: Session,
    *,
    ctx: AppContext,
    target_type: str | None,
    hook_id: int,
    body: bytes,
    header: str | None,
) -> bool:
    return any(
        signature_matches(secret, body, header)
        for secret in candidate_secrets(db, ctx=ctx, target_type=target_type, hook_id=hook_id)
    )
