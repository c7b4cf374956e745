"""The /api router: every JSON route module is included here, in one place."""

from __future__ import annotations

from fastapi import APIRouter

from nanoscale.api import health

router = APIRouter(prefix="/api")
router.include_router(health.router)
