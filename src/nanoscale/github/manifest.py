"""Create the GitHub App from a manifest (GitHub's "Registering a GitHub App from a manifest").

`start` (admin, no App configured yet) builds the manifest and a single-use `state` (stored
hashed, bound to the admin, one hour); the browser POSTs both to GitHub's new-App page of the
user or of an organization; GitHub redirects to `/api/integrations/github/manifest/callback`
with `code` and `state`; `finish` spends the state, exchanges the code
(`POST /app-manifests/{code}/conversions`, no authentication), stores the App's credentials
encrypted and puts them in force at once (github/app_config.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.base import utcnow
from nanoscale.db.transactions import end_transaction
from nanoscale.errors import Conflict, Forbidden, InvalidInput
from nanoscale.github import app_models as am
from nanoscale.github.app_config import apply_stored_app
from nanoscale.github.connect import CALLBACK_PATH
from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.hooks import WEBHOOK_PATH
from nanoscale.github.runtime import GATEWAY_KEY
from nanoscale.github.sealed import seal

STATE_TTL = timedelta(hours=1)  # GitHub's limit for the whole round trip
MANIFEST_CALLBACK_PATH = "/api/integrations/github/manifest/callback"
SETUP_PATH = "/api/integrations/github/setup"
PERMISSIONS = {"contents": "read", "metadata": "read", "repository_hooks": "write"}
# Optional (the admin's choice, default on): deployment status back on GitHub (status_reports).
STATUS_PERMISSIONS = {"deployments": "write", "statuses": "write"}
EVENTS = ["push", "repository"]
LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
NAME_MAX = 34  # GitHub's limit for App names


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def build_manifest(ctx: AppContext, *, name: str, status_reporting: bool = True) -> dict[str, Any]:
    base = ctx.settings.resolved_public_base_url
    return {
        "name": name,
        "url": base,
        "hook_attributes": {"url": f"{base}{WEBHOOK_PATH}", "active": True},
        "redirect_url": f"{base}{MANIFEST_CALLBACK_PATH}",
        "callback_urls": [f"{base}{CALLBACK_PATH}"],
        "setup_url": f"{base}{SETUP_PATH}",
        "request_oauth_on_install": False,
        "setup_on_update": True,
        "public": False,
        "default_permissions": PERMISSIONS | (STATUS_PERMISSIONS if status_reporting else {}),
        "default_events": list(EVENTS),
    }


def start(
    db: Session,
    *,
    ctx: AppContext,
    user: User,
    organization: str | None,
    name: str | None,
    status_reporting: bool = True,
) -> dict[str, str]:
    """The form to POST to GitHub: its action URL, the manifest (JSON) and the state."""
    if ctx.settings.github_configured:
        raise Conflict("a GitHub App is already configured", code="github_app_exists")
    if organization is not None and not LOGIN_RE.match(organization):
        raise InvalidInput("not a GitHub organization name", code="github_org_invalid")
    host = re.sub(r"[^a-z0-9-]+", "-", ctx.settings.resolved_public_base_url.split("//")[-1])
    app_name = (name or f"nanoscale-{host}")[:NAME_MAX].strip("-") or "nanoscale"
    state = secrets.token_urlsafe(32)
    db.execute(delete(am.GitHubManifestState).where(am.GitHubManifestState.expires_at < utcnow()))
    db.add(am.GitHubManifestState(state_hash=_hash(state), local_user_id=user.id,
                                  expires_at=utcnow() + STATE_TTL))  # fmt: skip
    web = ctx.settings.github_url
    action = (f"{web}/organizations/{organization}/settings/apps/new" if organization
              else f"{web}/settings/apps/new")  # fmt: skip
    manifest = json.dumps(build_manifest(ctx, name=app_name, status_reporting=status_reporting))
    return {"url": action, "manifest": manifest, "state": state}


def spend_state(db: Session, *, user: User, state: str | None) -> None:
    """Single use, this admin's, unexpired; spent (committed by the caller) before the code
    is exchanged, so a replay fails even if the exchange does."""
    if not state:
        raise InvalidInput("the GitHub App creation has no state", code="manifest_state_invalid")
    spent = db.execute(
        update(am.GitHubManifestState)
        .where(am.GitHubManifestState.state_hash == _hash(state),
               am.GitHubManifestState.local_user_id == user.id,
               am.GitHubManifestState.used_at.is_(None),
               am.GitHubManifestState.expires_at > utcnow())
        .values(used_at=utcnow())
    )  # fmt: skip
    if getattr(spent, "rowcount", 0) != 1:
        raise InvalidInput(
            "this GitHub App creation was not started here, is expired or was already used",
            code="manifest_state_invalid",
        )


def finish(db: Session, *, ctx: AppContext, user: User, code: str | None, state: str | None) -> str:
    """Spend the state, exchange the code, store the App encrypted and use it now; returns the
    App's slug. Commits the caller's session: the state stays spent whatever GitHub answers,
    and nothing is locked while GitHub answers."""
    if not user.is_admin:
        raise Forbidden("only admins can do this", code="admin_required")
    spend_state(db, user=user, state=state)
    end_transaction(db)  # the state stays spent whatever follows; no lock while GitHub answers
    if ctx.settings.github_configured:
        raise Conflict("a GitHub App is already configured", code="github_app_exists")
    if not code or not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", code):
        raise InvalidInput("GitHub sent no usable code", code="manifest_code_invalid")
    app = _convert(ctx, code)
    slug = _store(db, ctx=ctx, user=user, app=app)
    end_transaction(db)  # stored before it is used: apply_stored_app reads it back
    apply_stored_app(ctx)
    return slug


def _store(db: Session, *, ctx: AppContext, user: User, app: dict[str, Any]) -> str:
    row = am.GitHubAppRegistration(
        id=am.REGISTRATION_ID, github_app_id=int(app["id"]), slug=str(app["slug"]),
        client_id=str(app["client_id"]), html_url=str(app.get("html_url") or ""),
        client_secret_encrypted=_seal(ctx, am.CLIENT_SECRET_CONTEXT, app["client_secret"]),
        webhook_secret_encrypted=_seal(ctx, am.WEBHOOK_SECRET_CONTEXT, app["webhook_secret"]),
        private_key_encrypted=_seal(ctx, am.PRIVATE_KEY_CONTEXT, app["pem"]),
        created_by=user.id,
    )  # fmt: skip
    db.add(row)
    audit.record(db, action="github.app.created", actor=user, ip=None,
                 target=f"github_app:{row.github_app_id}", details={"slug": row.slug})  # fmt: skip
    return row.slug


def _seal(ctx: AppContext, template: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput("GitHub's answer lacks a credential", code="manifest_conversion_invalid")
    return seal(ctx.keyring, template, am.REGISTRATION_ID, value)


def _convert(ctx: AppContext, code: str) -> dict[str, Any]:
    gateway = ctx.components.get(GATEWAY_KEY)
    if not isinstance(gateway, GitHubGateway):
        gateway = GitHubGateway(ctx.settings)
    answer = gateway.request("POST", f"/app-manifests/{code}/conversions", auth=_NoAuth(),
                             rate_key="anonymous")  # fmt: skip
    body = answer.json()
    if not isinstance(body, dict) or not body.get("id"):
        raise InvalidInput("GitHub's answer is not an App", code="manifest_conversion_invalid")
    return body


class _NoAuth(httpx.Auth):
    """The conversion is authenticated by the code alone."""
