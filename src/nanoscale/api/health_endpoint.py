"""GET /api/health: the orchestrator's parts as the dashboard's health panel shows them
(`nanoscale.system_health`), no authentication."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from nanoscale import __version__
from nanoscale.api.deps import Context
from nanoscale.system_health import HealthState, OverallHealth, system_health

router = APIRouter(tags=["health"])


class ComponentOut(BaseModel):
    state: HealthState
    detail: str


class HealthOut(BaseModel):
    status: OverallHealth
    version: str
    database: HealthState
    components: dict[str, ComponentOut]


@router.get("/health", response_model=HealthOut)
def health(ctx: Context) -> HealthOut:
    """`status` is `degraded` when any part that is switched on fails its check."""
    report = system_health(ctx)
    return HealthOut(
        status=report.status,
        version=__version__,
        database=report.state_of("database"),
        components={c.key: ComponentOut(state=c.state, detail=c.detail) for c in report.components},
    )
