"""GET /api/health: version and database status, no authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from nanoscale import __version__
from nanoscale.api.deps import get_context
from nanoscale.context import AppContext
from nanoscale.db.engine import ping

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str
    version: str
    database: str


@router.get("/health", response_model=HealthOut)
def health(ctx: Annotated[AppContext, Depends(get_context)]) -> HealthOut:
    database = "ok" if ping(ctx.engine) else "unavailable"
    return HealthOut(
        status="ok" if database == "ok" else "degraded", version=__version__, database=database
    )
