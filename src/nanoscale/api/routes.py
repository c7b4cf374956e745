"""The /api router: every JSON route module is included here, in one place."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from nanoscale.api import (
    auth,
    deployments,
    github,
    github_check,
    github_manifest,
    health_endpoint,
    projects,
    release_logs,
    tokens,
    users,
)
from nanoscale.api.deps import reject_control_characters
from nanoscale.github.webhooks import endpoint as github_webhook_endpoint

router = APIRouter(prefix="/api", dependencies=[Depends(reject_control_characters)])
router.include_router(health_endpoint.router)
router.include_router(auth.router)
router.include_router(users.router)
router.include_router(tokens.router)
router.include_router(projects.router)
router.include_router(deployments.router)
router.include_router(release_logs.router)
router.include_router(github.router)
router.include_router(github_check.router)
router.include_router(github_manifest.router)
router.include_router(github_webhook_endpoint.router)
