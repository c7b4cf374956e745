"""Repository webhooks (plan §8): exactly one NanoScale hook per repository, shared by every
project linked to it, created or adopted (same URL) after a project is created from GitHub.

Config: our webhook URL, `content_type: json`, events `["push"]`, active, TLS verification on,
and a random secret that is stored encrypted on every link of that repository (the endpoint
verifies repository-hook deliveries with it). Work uses an installation token narrowed to that
repository with `repository_hooks: write`. A hook that cannot be made does not fail the project:
the link records why (`webhook_error`).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from nanoscale.accounts import audit
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.errors import NanoScaleError
from nanoscale.github import models as m
from nanoscale.github.runtime import gateway_for
from nanoscale.github.sealed import seal, unseal
from nanoscale.logs import get_logger

log = get_logger("nanoscale.github.hooks")
HOOK_PERMISSIONS = {"repository_hooks": "write"}
WEBHOOK_PATH = "/api/integrations/github/webhook"


def webhook_url(ctx: AppContext) -> str:
    return f"{ctx.settings.resolved_public_base_url}{WEBHOOK_PATH}"


def ensure_repository_hook(ctx: AppContext, *, project_id: str) -> int | None:
    """Create or adopt the repository's NanoScale hook; returns its id (None on failure, with
    the reason on the link). Call it outside any transaction: it talks to GitHub."""
    with session_scope(ctx.sessions) as db:
        link = db.scalar(
            select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.project_id == project_id)
        )
        if link is None:
            return None
        installation_id, repo_id, full_name = link.installation_id, link.repo_id, link.full_name
        secret = _shared_secret(ctx, db, repo_id=repo_id)
    try:
        hook_id, created = _create_or_adopt(ctx, installation_id, repo_id, full_name, secret)
    except NanoScaleError as exc:
        log.warning("github.hook.failed", project_id=project_id, error=exc.code)
        _save(ctx, repo_id=repo_id, hook_id=None, secret=None, error=exc.code)
        return None
    _save(ctx, repo_id=repo_id, hook_id=hook_id, secret=secret, error=None)
    with session_scope(ctx.sessions) as db:
        audit.record(db, action="github.hook.created" if created else "github.hook.updated",
                     actor=None, ip=None, target=f"github_repository:{repo_id}",
                     details={"hook_id": hook_id}, actor_label="nanoscale")  # fmt: skip
    return hook_id


def _shared_secret(ctx: AppContext, db: Any, *, repo_id: int) -> str:
    """The secret a sibling link already holds for this repository's hook, else a new one."""
    sibling = db.scalar(
        select(m.ProjectGitHubLink).where(
            m.ProjectGitHubLink.repo_id == repo_id, m.ProjectGitHubLink.webhook_id.is_not(None)
        )
    )
    if sibling is not None:
        return unseal(ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, sibling.id,
                      sibling.webhook_secret_encrypted)  # fmt: skip
    return secrets.token_hex(32)


def _create_or_adopt(
    ctx: AppContext, installation_id: int, repo_id: int, full_name: str, secret: str
) -> tuple[int, bool]:
    gateway = gateway_for(ctx)
    token = gateway.installation_token(
        installation_id, repo_ids=[repo_id], permissions=HOOK_PERMISSIONS
    )
    auth, url = f"Bearer {token}", webhook_url(ctx)
    hooks = gateway.request("GET", f"/repos/{full_name}/hooks", auth=auth,
                            rate_key="installation").json()  # fmt: skip
    ours = [h for h in hooks if (h.get("config") or {}).get("url") == url]
    config = {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}
    body = {"config": config, "events": ["push"], "active": True}
    if ours:
        hook_id = int(ours[0]["id"])
        gateway.request("PATCH", f"/repos/{full_name}/hooks/{hook_id}", auth=auth,
                        rate_key="installation", json=body)  # fmt: skip
        return hook_id, False
    created = gateway.request("POST", f"/repos/{full_name}/hooks", auth=auth,
                              rate_key="installation", json={"name": "web", **body})  # fmt: skip
    return int(created.json()["id"]), True


def _save(
    ctx: AppContext, *, repo_id: int, hook_id: int | None, secret: str | None, error: str | None
) -> None:
    """Every link of the repository shares the hook and its secret."""
    with session_scope(ctx.sessions) as db:
        for link in db.scalars(
            select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id == repo_id)
        ):
            link.webhook_error = error
            if hook_id is not None and secret is not None:
                link.webhook_id = hook_id
                link.webhook_secret_encrypted = seal(ctx.keyring, m.WEBHOOK_SECRET_CONTEXT,
                                                     link.id, secret)  # fmt: skip


def release_repository_hook(ctx: AppContext, *, installation_id: int, repo_id: int,
                            full_name: str, hook_id: int) -> None:  # fmt: skip
    """After a project's deletion: delete the repository's hook if no other project uses it.
    Best effort (the hook's deliveries are ignored anyway once nothing is linked)."""
    with session_scope(ctx.sessions) as db:
        still_used = db.scalar(
            select(m.ProjectGitHubLink.id).where(m.ProjectGitHubLink.repo_id == repo_id)
        )
    if still_used is not None:
        return
    gateway = gateway_for(ctx)
    try:
        token = gateway.installation_token(
            installation_id, repo_ids=[repo_id], permissions=HOOK_PERMISSIONS
        )
        gateway.request("DELETE", f"/repos/{full_name}/hooks/{hook_id}", auth=f"Bearer {token}",
                        rate_key="installation")  # fmt: skip
    except NanoScaleError as exc:
        log.warning("github.hook.delete_failed", repo_id=repo_id, error=exc.code)
        return
    with session_scope(ctx.sessions) as db:
        audit.record(db, action="github.hook.deleted", actor=None, ip=None,
                     target=f"github_repository:{repo_id}", details={"hook_id": hook_id},
                     actor_label="nanoscale")  # fmt: skip
