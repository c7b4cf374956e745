"""Health of the orchestrator's parts, each from a real check: the database answers a query,
the proxy's admin API answers, the deploy worker's loop is alive and ticking.

The one source for both `GET /api/health` and the dashboard's health panel, so they agree.
A part that is switched off by configuration (no proxy, no worker in this process) is
`none`, which is not a fault; any other state but `ok` makes the whole `degraded`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nanoscale import __version__
from nanoscale.context import AppContext
from nanoscale.db.engine import ping
from nanoscale.deployments.backends import backends_for
from nanoscale.deployments.worker.loop import registered_worker
from nanoscale.settings import ProxyKind


class HealthState(StrEnum):
    OK = "ok"
    UNAVAILABLE = "unavailable"
    UNREACHABLE = "unreachable"
    NOT_RUNNING = "not_running"
    NONE = "none"  # switched off by configuration


class OverallHealth(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"


@dataclass(frozen=True)
class ComponentHealth:
    key: str  # stable machine name: database, proxy, worker
    name: str  # what the dashboard shows
    state: HealthState
    detail: str


@dataclass(frozen=True)
class SystemHealth:
    components: list[ComponentHealth]

    @property
    def status(self) -> OverallHealth:
        healthy = (HealthState.OK, HealthState.NONE)
        if all(c.state in healthy for c in self.components):
            return OverallHealth.OK
        return OverallHealth.DEGRADED

    def state_of(self, key: str) -> HealthState:
        return next(c.state for c in self.components if c.key == key)


def database_health(ctx: AppContext) -> ComponentHealth:
    """Opens its own connection: on SQLite, call it outside any open transaction (every
    transaction there holds the write lock, which this check would wait for)."""
    if ping(ctx.engine):
        detail = f"NanoScale {__version__}, database reachable"
        return ComponentHealth("database", "Orchestrator", HealthState.OK, detail)
    detail = "the database does not answer"
    return ComponentHealth("database", "Orchestrator", HealthState.UNAVAILABLE, detail)


def proxy_health(ctx: AppContext) -> ComponentHealth:
    if ctx.settings.proxy == ProxyKind.NONE:
        detail = "no reverse proxy (NANOSCALE_PROXY=none)"
        return ComponentHealth("proxy", "Proxy", HealthState.NONE, detail)
    healthy = backends_for(ctx).proxy.healthy()
    state = HealthState.OK if healthy else HealthState.UNREACHABLE
    return ComponentHealth(
        "proxy", "Proxy", state, f"Caddy admin API on {ctx.settings.caddy_admin_socket}"
    )


def worker_health(ctx: AppContext) -> ComponentHealth:
    name = "Deploy worker"
    if not ctx.settings.worker_enabled:
        detail = "disabled (NANOSCALE_WORKER_ENABLED=false)"
        return ComponentHealth("worker", name, HealthState.NONE, detail)
    worker = registered_worker(ctx)
    if worker is None or not worker.is_alive():
        detail = "enabled, but its loop is not running: deployments wait"
        return ComponentHealth("worker", name, HealthState.NOT_RUNNING, detail)
    detail = f"running ({len(worker.runners)} threads)"
    return ComponentHealth("worker", name, HealthState.OK, detail)


def system_health(ctx: AppContext) -> SystemHealth:
    return SystemHealth([database_health(ctx), proxy_health(ctx), worker_health(ctx)])
