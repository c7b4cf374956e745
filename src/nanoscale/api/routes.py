"""The /api router: every JSON route module is included here, in one place."""

from __future__ import annotations

from fastapi import APIRouter

from nanoscale.api import auth, deployments, health, projects, tokens, users

router = APIRouter(prefix="/api")
router.include_router(health.router)
router.include_router(auth.router)
router.include_router(users.router)
router.include_router(tokens.router)
router.include_router(projects.router)
router.include_router(deployments.router)
