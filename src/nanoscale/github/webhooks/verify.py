"""Signature checks over the raw request bytes (HMAC-SHA256, constant-time), against every
secret that may legitimately sign the delivery: the App's (and, during a rotation, its previous
one) for App deliveries, the repository hook's own (and, during a rotation, its alternate until
its deadline) for repository-hook deliveries (found by `X-GitHub-Hook-ID`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
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
    db: Session, *, ctx: AppContext, target_type: str | None, hook_id: int,
    repo_id: int | None = None,
) -> list[bytes]:  # fmt: skip
    """The secrets that may sign a delivery from this source (none: it cannot be genuine).
    `repo_id`: the repository the (unverified) body names, used only to pick candidates."""
    if target_type == "repository":
        links = db.scalars(
            select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.webhook_id == hook_id)
        ).all()
        if not links and repo_id is not None:
            # A hook we have just created (its `ping` can arrive before its id is saved):
            # the repository's links already hold the secret it was created with.
            links = db.scalars(
                select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id == repo_id)
            ).all()
        found = {unseal(ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, link.id,
                        link.webhook_secret_encrypted) for link in links}  # fmt: skip
        found |= alternate_secrets(ctx, links)
        return [s.encode() for s in sorted(found)]
    if target_type not in (None, "integration"):
        return []
    app_secrets = (ctx.settings.github_webhook_secret, ctx.settings.github_webhook_secret_previous)
    return [s.get_secret_value().encode() for s in app_secrets if s is not None]


def alternate_secrets(ctx: AppContext, links: Sequence[m.ProjectGitHubLink]) -> set[str]:
    now = utcnow()
    return {
        unseal(ctx.keyring, m.ALTERNATE_SECRET_CONTEXT, link.id, link.alternate_secret_encrypted)
        for link in links
        if link.alternate_secret_encrypted is not None
        and link.alternate_secret_until is not None
        and link.alternate_secret_until > now
    }


def verified(
    db: Session,
    *,
    ctx: AppContext,
    target_type: str | None,
    hook_id: int,
    body: bytes,
    header: str | None,
) -> bool:
    repo_id = claimed_repository(body) if target_type == "repository" else None
    candidates = candidate_secrets(
        db, ctx=ctx, target_type=target_type, hook_id=hook_id, repo_id=repo_id
    )
    return any(signature_matches(secret, body, header) for secret in candidates)


CLAIM_PARSE_LIMIT = 256 * 1024  # a new hook's ping is tiny; nobody gets a free big parse


def claimed_repository(body: bytes) -> int | None:
    """The repository id an unverified body names (a candidate key, never trusted as such)."""
    if len(body) > CLAIM_PARSE_LIMIT:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    repo = payload.get("repository") if isinstance(payload, dict) else None
    repo_id = repo.get("id") if isinstance(repo, dict) else None
    return repo_id if isinstance(repo_id, int) and 0 < repo_id < 2**63 else None
