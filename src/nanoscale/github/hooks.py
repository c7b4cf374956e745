"""Repository webhooks (plan §8): exactly one NanoScale hook per repository, shared by every
project linked to it, created or adopted (same URL) after a project is created from GitHub,
and checked (and repaired) by the reconciler.

Config: our webhook URL, `content_type: json`, events `["push"]`, active, TLS verification on,
and a random secret that is stored encrypted on every link of that repository (the endpoint
verifies repository-hook deliveries with it). Work uses an installation token narrowed to that
repository with `repository_hooks: write`. A hook that cannot be made does not fail the project:
the link records why (`webhook_error`) and the reconciler tries again.

Secrets and races: a secret is sent to GitHub only when a hook is created or adopted, or when
GitHub holds none; a known hook whose config drifted is fixed field by field without it
(`PATCH …/hooks/{id}/config` keeps the secret). Every write to a repository's hook, secret
rotation included (`hook_rotation.py`), holds that repository's `hook:<repo_id>` lease, so the
secret read from the database is still the current one when GitHub receives it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from nanoscale.accounts import audit
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.errors import NanoScaleError
from nanoscale.github import locks
from nanoscale.github import models as m
from nanoscale.github.errors import GitHubAccessLost
from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.runtime import gateway_for
from nanoscale.github.sealed import seal, unseal
from nanoscale.logs import get_logger

log = get_logger("nanoscale.github.hooks")
HOOK_PERMISSIONS = {"repository_hooks": "write"}
WEBHOOK_PATH = "/api/integrations/github/webhook"
GUARD_WAIT_SECONDS = 30.0  # a concurrent rotation finishes well within this
GUARD_LEASE_SECONDS = 120.0  # outlives the calls made under it (timeouts and retries)


@dataclass(frozen=True)
class HookCheck:
    hook_id: int | None
    action: str  # ok | created | adopted | fixed | failed
    error: str | None = None  # a stable error code when failed
    etag: str | None = None  # of the hook as last read, for a conditional re-check


@dataclass(frozen=True)
class _Repo:
    installation_id: int
    repo_id: int
    full_name: str
    hook_id: int | None


def webhook_url(ctx: AppContext) -> str:
    return f"{ctx.settings.resolved_public_base_url}{WEBHOOK_PATH}"


def ensure_repository_hook(ctx: AppContext, *, project_id: str) -> int | None:
    """Create, adopt or repair the repository's NanoScale hook; returns its id (None on
    failure, with the reason on the link). Call it outside any transaction."""
    return check_repository_hook(ctx, project_id=project_id).hook_id


def check_repository_hook(
    ctx: AppContext, *, project_id: str, etag: str | None = None
) -> HookCheck:
    """Make GitHub's hook for the project's repository what it should be. `etag`: of the last
    read of the known hook (an unchanged hook then costs no rate limit)."""
    repo = _snapshot(ctx, project_id)
    if repo is None:
        return HookCheck(None, "failed", "github_link_missing")
    try:
        with locks.held(ctx, name=locks.hook_lock_name(repo.repo_id),
                        wait=GUARD_WAIT_SECONDS, seconds=GUARD_LEASE_SECONDS):  # fmt: skip
            result = _converge(ctx, repo, etag)
    except NanoScaleError as exc:
        log.warning("github.hook.failed", project_id=project_id, error=exc.code)
        _save_error(ctx, repo_id=repo.repo_id, error=exc.code)
        return HookCheck(None, "failed", exc.code)
    if result.action != "ok":
        with session_scope(ctx.sessions) as db:
            audit.record(db, action=f"github.hook.{result.action}", actor=None, ip=None,
                         target=f"github_repository:{repo.repo_id}",
                         details={"hook_id": result.hook_id}, actor_label="nanoscale")  # fmt: skip
    return result


def _snapshot(ctx: AppContext, project_id: str) -> _Repo | None:
    with session_scope(ctx.sessions) as db:
        link = db.scalar(
            select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.project_id == project_id)
        )
        if link is None:
            return None
        known = db.scalar(
            select(m.ProjectGitHubLink.webhook_id).where(
                m.ProjectGitHubLink.repo_id == link.repo_id,
                m.ProjectGitHubLink.webhook_id.is_not(None),
            )
        )
        return _Repo(link.installation_id, link.repo_id, link.full_name, known)


def _converge(ctx: AppContext, repo: _Repo, etag: str | None) -> HookCheck:
    """Under the repository's hook lease."""
    gateway = gateway_for(ctx)
    token = gateway.installation_token(
        repo.installation_id, repo_ids=[repo.repo_id], permissions=HOOK_PERMISSIONS
    )
    auth, url, path = f"Bearer {token}", webhook_url(ctx), f"/repos/{repo.full_name}/hooks"
    if repo.hook_id is not None:
        try:
            got = gateway.request("GET", f"{path}/{repo.hook_id}", auth=auth,
                                  rate_key="installation", etag=etag)  # fmt: skip
        except GitHubAccessLost:
            got = None  # deleted on GitHub: a new one is made below
        if got is not None and got.status_code == 304:
            _share_known(ctx, repo_id=repo.repo_id, hook_id=repo.hook_id)
            return HookCheck(repo.hook_id, "ok", etag=etag)
        if got is not None:
            hook = got.json()
            fixed = _fix(ctx, gateway, auth, f"{path}/{repo.hook_id}", hook, url=url,
                         repo_id=repo.repo_id)  # fmt: skip
            _share_known(ctx, repo_id=repo.repo_id, hook_id=repo.hook_id)
            if fixed:
                return HookCheck(repo.hook_id, "fixed")
            return HookCheck(repo.hook_id, "ok", etag=got.headers.get("etag"))
    secret = _shared_secret(ctx, repo.repo_id)  # read under the lease: still current when sent
    hooks = gateway.request("GET", path, auth=auth, rate_key="installation").json()
    ours = [h for h in hooks if (h.get("config") or {}).get("url") == url]
    config = {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}
    body = {"config": config, "events": ["push"], "active": True}
    if ours:
        hook_id, action = int(ours[0]["id"]), "adopted"
        gateway.request("PATCH", f"{path}/{hook_id}", auth=auth, rate_key="installation",
                        json=body)  # fmt: skip
    else:
        created = gateway.request("POST", path, auth=auth, rate_key="installation",
                                  json={"name": "web", **body})  # fmt: skip
        hook_id, action = int(created.json()["id"]), "created"
    _save(ctx, repo_id=repo.repo_id, hook_id=hook_id, secret=secret)
    return HookCheck(hook_id, action)


def _fix(
    ctx: AppContext, gateway: GitHubGateway, auth: str, path: str, hook: dict[str, Any],
    *, url: str, repo_id: int,
) -> bool:  # fmt: skip
    """Put a known hook's drifted fields right; True if anything was written. The secret is
    sent only when GitHub holds none (then the one we hold, under the lease)."""
    config = hook.get("config") or {}
    fix: dict[str, Any] = {}
    if config.get("url") != url:
        fix["url"] = url
    if config.get("content_type") != "json":
        fix["content_type"] = "json"
    if str(config.get("insecure_ssl", "0")) != "0":
        fix["insecure_ssl"] = "0"
    if not config.get("secret"):
        fix["secret"] = _shared_secret(ctx, repo_id)
    if fix:
        gateway.request("PATCH", f"{path}/config", auth=auth, rate_key="installation", json=fix)
    flags = sorted(hook.get("events") or []) != ["push"] or hook.get("active") is not True
    if flags:
        gateway.request("PATCH", path, auth=auth, rate_key="installation",
                        json={"events": ["push"], "active": True})  # fmt: skip
    return bool(fix) or flags


def _shared_secret(ctx: AppContext, repo_id: int) -> str:
    """The secret a link already holds for this repository's hook; without a hook yet, the one
    a link was created with. It is stored before GitHub holds it, so the `ping` GitHub sends as
    soon as the hook exists already verifies (see `verify.candidate_secrets`)."""
    with session_scope(ctx.sessions) as db:
        links = db.scalars(
            select(m.ProjectGitHubLink)
            .where(m.ProjectGitHubLink.repo_id == repo_id)
            .order_by(m.ProjectGitHubLink.webhook_id.is_(None), m.ProjectGitHubLink.created_at)
        )
        holder = links.first()
        if holder is not None:
            return unseal(ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, holder.id,
                          holder.webhook_secret_encrypted)  # fmt: skip
    return secrets.token_hex(32)


def _save(ctx: AppContext, *, repo_id: int, hook_id: int, secret: str) -> None:
    """Every link of the repository shares the hook and its secret."""
    with session_scope(ctx.sessions) as db:
        for link in db.scalars(
            select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id == repo_id)
        ):
            link.webhook_error = None
            link.webhook_id = hook_id
            link.webhook_secret_encrypted = seal(ctx.keyring, m.WEBHOOK_SECRET_CONTEXT,
                                                 link.id, secret)  # fmt: skip


def _share_known(ctx: AppContext, *, repo_id: int, hook_id: int) -> None:
    """The hook is right: clear old errors, and a link made since shares its secrets."""
    with session_scope(ctx.sessions) as db:
        links = list(
            db.scalars(select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id == repo_id))
        )
        holder = next((x for x in links if x.webhook_id == hook_id), None)
        for link in links:
            link.webhook_error = None
            if link.webhook_id == hook_id or holder is None:
                continue
            link.webhook_id = hook_id
            link.webhook_secret_encrypted = seal(ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, link.id,
                unseal(ctx.keyring, m.WEBHOOK_SECRET_CONTEXT, holder.id,
                       holder.webhook_secret_encrypted))  # fmt: skip
            if holder.alternate_secret_encrypted is not None:
                link.alternate_secret_encrypted = seal(
                    ctx.keyring, m.ALTERNATE_SECRET_CONTEXT, link.id,
                    unseal(ctx.keyring, m.ALTERNATE_SECRET_CONTEXT, holder.id,
                           holder.alternate_secret_encrypted))  # fmt: skip
                link.alternate_secret_until = holder.alternate_secret_until


def _save_error(ctx: AppContext, *, repo_id: int, error: str | None) -> None:
    with session_scope(ctx.sessions) as db:
        for link in db.scalars(
            select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id == repo_id)
        ):
            link.webhook_error = error


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
