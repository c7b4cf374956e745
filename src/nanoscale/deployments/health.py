"""Health of the orchestrator's parts, each from a real check: the database answers a query,
the proxy's admin API answers, the deploy worker's loop is alive and ticking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nanoscale import __version__
from nanoscale.context import AppContext
from nanoscale.db.engine import ping
from nanoscale.deployments.backends import backends_for
from nanoscale.deployments.worker import registered_worker

HealthState = Literal["ok", "unavailable", "unreachable", "not_running", "none"]


@dataclass(frozen=True)
class ComponentHealth:
    name: str
    state: HealthState
    detail: str


def database_health(ctx: AppContext) -> ComponentHealth:
    """Opens its own connection: on SQLite, call it outside any open transaction (every
    transaction there holds the write lock, which this check would wait for)."""
    if ping(ctx.engine):
        return ComponentHealth("Orchestrator", "ok", f"NanoScale {__version__}, database reachable")
    return ComponentHealth("Orchestrator", "unavailable", "the database does not answer")


def proxy_health(ctx: AppContext) -> ComponentHealth:
    if ctx.settings.proxy == "none":
        return ComponentHealth("Proxy", "none", "no reverse proxy (NANOSCALE_PROXY=none)")
    healthy = backends_for(ctx).proxy.healthy()
    detail = f"Caddy admin API on {ctx.settings.caddy_admin_socket}"
    return ComponentHealth("Proxy", "ok" if healthy else "unreachable", detail)


def worker_health(ctx: AppContext) -> ComponentHealth:
    if not ctx.settings.worker_enabled:
        return ComponentHealth("Deploy worker", "none", "disabled (NANOSCALE_WORKER_ENABLED=false)")
    worker = registered_worker(ctx)
    if worker is None or not worker.is_alive():
        return ComponentHealth(
            "Deploy worker", "not_running", "enabled, but its loop is not running: deployments wait"
        )
    return ComponentHealth("Deploy worker", "ok", f"running ({len(worker.runners)} threads)")


def system_health(ctx: AppContext) -> list[ComponentHealth]:
    return [database_health(ctx), proxy_health(ctx), worker_health(ctx)]
