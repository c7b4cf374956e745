"""GET /api/health: version and database status, no authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from nanoscale import __version__
from nanoscale.api.deps import get_context
from nanoscale.context import AppContext

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    status: str
    version: str
    database: str


@router.get("/health", response_model=HealthOut)
def health(ctx: Annotated[AppContext, Depends(get_context)]) -> HealthOut:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        database = "unavailable"
    return HealthOut(
        status="ok" if database == "ok" else "degraded", version=__version__, database=database
    )
