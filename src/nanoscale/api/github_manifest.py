"""Creating the GitHub App from a manifest (github/manifest.py): admin only, thin handlers."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, StrictBool

from nanoscale.api.contract import errors
from nanoscale.api.deps import AdminUser, Context, CurrentAuth, DbSession
from nanoscale.errors import NanoScaleError, Unauthenticated
from nanoscale.github import manifest
from nanoscale.github.app_config import app_source
from nanoscale.logs import get_logger

router = APIRouter(
    prefix="/integrations/github", tags=["github"], responses=errors(404, 409, 502, 503)
)
log = get_logger("nanoscale.api.github_manifest")
DASHBOARD_PAGE = "/settings"


class ManifestIn(BaseModel):
    organization: str | None = Field(default=None, max_length=39, pattern=manifest.LOGIN_RE.pattern)
    name: str | None = Field(default=None, min_length=1, max_length=34)
    # Also ask for deployments: write and statuses: write (deploy status shown on GitHub).
    status_reporting: StrictBool = True


class ManifestOut(BaseModel):
    """POST `manifest` and `state` as a form to `url` from the admin's browser."""

    url: str
    manifest: str
    state: str


class AppConfigOut(BaseModel):
    configured: bool
    source: Literal["environment", "database", "none"]


@router.post("/manifest", response_model=ManifestOut)
def start_manifest(body: ManifestIn, admin: AdminUser, db: DbSession, ctx: Context) -> ManifestOut:
    form = manifest.start(db, ctx=ctx, user=admin, organization=body.organization, name=body.name,
                          status_reporting=body.status_reporting)  # fmt: skip
    return ManifestOut(**form)


# A browser step GitHub redirects to (it always answers with a redirect): not client API.
@router.get("/manifest/callback", include_in_schema=False)
def manifest_callback(
    *,
    auth: CurrentAuth,
    db: DbSession,
    ctx: Context,
    code: Annotated[str | None, Query(max_length=512)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
) -> RedirectResponse:
    if auth.session is None:
        raise Unauthenticated("finish creating the App in the browser you started it from")
    try:
        slug = manifest.finish(db, ctx=ctx, user=auth.user, code=code, state=state)
    except NanoScaleError as exc:
        log.warning("github.manifest.failed", code=exc.code)
        query = {"github_error": exc.code, "github_status": str(exc.status)}
        return RedirectResponse(f"{DASHBOARD_PAGE}?{urlencode(query)}", status_code=303)
    query = {"github": "app_created", "app": slug}
    return RedirectResponse(f"{DASHBOARD_PAGE}?{urlencode(query)}", status_code=303)


@router.get("/app-config", response_model=AppConfigOut)
def app_config(_admin: AdminUser, ctx: Context) -> AppConfigOut:
    """Which App credentials are in force: the environment's or the stored ones."""
    return AppConfigOut(configured=ctx.settings.github_configured, source=app_source(ctx))
