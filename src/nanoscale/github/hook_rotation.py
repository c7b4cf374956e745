"""Replace each repository hook's secret on GitHub and locally without refusing a delivery.

Per hook, holding the repository's hook lease (so a concurrent hook repair cannot hand
GitHub the old secret back), in three steps (docs/github-operations.md):
1. the new secret is stored as the links' *alternate* secret: both old and new now verify;
2. GitHub is told the new secret (`PATCH /repos/{o}/{r}/hooks/{id}/config`, which changes only
   the fields sent);
3. the new secret becomes the current one and the old one the alternate, accepted until
   `grace` has passed, so deliveries GitHub signed before step 2 and still in flight verify.
A hook GitHub refused keeps its old secret (and the new one as alternate until the deadline,
in case GitHub did apply it before the error reached us); the others go on.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.errors import NanoScaleError
from nanoscale.github import locks
from nanoscale.github import models as m
from nanoscale.github.hooks import GUARD_LEASE_SECONDS, GUARD_WAIT_SECONDS, HOOK_PERMISSIONS
from nanoscale.github.runtime import gateway_for
from nanoscale.github.sealed import seal, unseal
from nanoscale.logs import get_logger

log = get_logger("nanoscale.github.hook_rotation")
DEFAULT_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class HookRotation:
    full_name: str
    hook_id: int
    error: str | None  # a stable error code; None when rotated


@dataclass(frozen=True)
class _Hook:
    installation_id: int
    repo_id: int
    full_name: str
    hook_id: int


def rotate_hook_secrets(ctx: AppContext, *, grace: timedelta = DEFAULT_GRACE) -> list[HookRotation]:
    """Rotate every NanoScale repository hook's secret; one result per hook."""
    return [_rotate(ctx, hook, grace) for hook in _hooks(ctx)]


def _hooks(ctx: AppContext) -> list[_Hook]:
    with session_scope(ctx.sessions) as db:
        links = db.scalars(
            select(m.ProjectGitHubLink)
            .where(m.ProjectGitHubLink.webhook_id.is_not(None))
            .order_by(m.ProjectGitHubLink.full_name)
        ).all()
        found: dict[int, _Hook] = {}
        for link in links:
            assert link.webhook_id is not None
            found.setdefault(
                link.webhook_id,
                _Hook(link.installation_id, link.repo_id, link.full_name, link.webhook_id),
            )
        return list(found.values())


def _rotate(ctx: AppContext, hook: _Hook, grace: timedelta) -> HookRotation:
    """Under the repository's hook lease (see hooks.py): no other writer can hand GitHub
    the old secret between the steps."""
    try:
        with locks.held(ctx, name=locks.hook_lock_name(hook.repo_id),
                        wait=GUARD_WAIT_SECONDS, seconds=GUARD_LEASE_SECONDS):  # fmt: skip
            return _rotate_held(ctx, hook, grace)
    except NanoScaleError as exc:  # the lease stayed busy
        log.warning("github.hook.rotation_failed", hook_id=hook.hook_id, error=exc.code)
        return HookRotation(hook.full_name, hook.hook_id, exc.code)


def _rotate_held(ctx: AppContext, hook: _Hook, grace: timedelta) -> HookRotation:
    fresh = secrets.token_hex(32)
    _store(ctx, hook, alternate=fresh, grace=grace)
    try:
        gateway = gateway_for(ctx)
        token = gateway.installation_token(
            hook.installation_id, repo_ids=[hook.repo_id], permissions=HOOK_PERMISSIONS
        )
        gateway.request(
            "PATCH", f"/repos/{hook.full_name}/hooks/{hook.hook_id}/config",
            auth=f"Bearer {token}", rate_key="installation", json={"secret": fresh},
        )  # fmt: skip
    except NanoScaleError as exc:
        log.warning("github.hook.rotation_failed", hook_id=hook.hook_id, error=exc.code)
        return HookRotation(hook.full_name, hook.hook_id, exc.code)
    _promote(ctx, hook, fresh=fresh, grace=grace)
    log.info("github.hook.secret_rotated", hook_id=hook.hook_id)
    return HookRotation(hook.full_name, hook.hook_id, None)


def _links(db: Session, hook: _Hook) -> list[m.ProjectGitHubLink]:
    query = select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.webhook_id == hook.hook_id)
    return list(db.scalars(query))


def _store(ctx: AppContext, hook: _Hook, *, alternate: str, grace: timedelta) -> None:
    with session_scope(ctx.sessions) as db:
        for link in _links(db, hook):
            link.alternate_secret_encrypted = seal(
                ctx.keyring, m.ALTERNATE_SECRET_CONTEXT, link.id, alternate
            )
            link.alternate_secret_until = utcnow() + grace


def _promote(ctx: AppContext, hook: _Hook, *, fresh: str, grace: timedelta) -> None:
    with session_scope(ctx.sessions) as db:
        for link in _links(db, hook):
            old = unseal(ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, link.id,
                         link.webhook_secret_encrypted)  # fmt: skip
            link.webhook_secret_encrypted = seal(
                ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, link.id, fresh
            )
            link.alternate_secret_encrypted = seal(
                ctx.keyring, m.ALTERNATE_SECRET_CONTEXT, link.id, old
            )
            link.alternate_secret_until = utcnow() + grace
        audit.record(db, action="github.hook.secret_rotated", actor=None, ip=None,
                     target=f"github_repository:{hook.repo_id}",
                     details={"hook_id": hook.hook_id}, actor_label="cli")  # fmt: skip
