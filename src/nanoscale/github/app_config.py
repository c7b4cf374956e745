"""Which GitHub App credentials are in force: the environment's, or the App registered from a
manifest and stored encrypted in the database. The environment wins when it names an App.

`apply_stored_app(ctx)` puts stored credentials into `ctx.settings` (and the live gateway), so
an App created from the dashboard is used at once, without a restart.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from sqlalchemy.exc import SQLAlchemyError

from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.github import app_models as am
from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.runtime import GATEWAY_KEY
from nanoscale.github.sealed import unseal
from nanoscale.logs import get_logger

log = get_logger("nanoscale.github.app_config")
SOURCE_KEY = "github.app_source"
Source = Literal["environment", "database", "none"]


def app_source(ctx: AppContext) -> Source:
    if not ctx.settings.github_configured:
        return "none"
    return "database" if ctx.components.get(SOURCE_KEY) == "database" else "environment"


def apply_stored_app(ctx: AppContext) -> Source:
    """Use the stored App unless the environment configures one; returns the source in force."""
    if ctx.settings.github_configured and ctx.components.get(SOURCE_KEY) != "database":
        return "environment"
    try:
        with session_scope(ctx.sessions) as db:
            row = db.get(am.GitHubAppRegistration, am.REGISTRATION_ID)
            if row is None:
                return "none"
            update = {
                "github_app_id": row.github_app_id,
                "github_app_client_id": row.client_id,
                "github_app_client_secret": _open(
                    ctx, am.CLIENT_SECRET_CONTEXT, row.client_secret_encrypted
                ),
                "github_webhook_secret": _open(
                    ctx, am.WEBHOOK_SECRET_CONTEXT, row.webhook_secret_encrypted
                ),
                "github_app_private_key": _open(
                    ctx, am.PRIVATE_KEY_CONTEXT, row.private_key_encrypted
                ),
                "github_app_private_key_path": None,
            }
    except SQLAlchemyError:
        return "none"  # not migrated yet: `serve` migrates, then the next start picks it up
    ctx.settings = ctx.settings.model_copy(update=update)
    ctx.components[SOURCE_KEY] = "database"
    gateway = ctx.components.get(GATEWAY_KEY)
    if isinstance(gateway, GitHubGateway):
        gateway.settings = ctx.settings
    log.info("github.app.stored_credentials_in_force", app_id=update["github_app_id"])
    return "database"


def _open(ctx: AppContext, template: str, value: str) -> SecretStr:
    return SecretStr(unseal(ctx.keyring, template, am.REGISTRATION_ID, value))
