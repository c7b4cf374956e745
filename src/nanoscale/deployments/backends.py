"""The runtime and proxy backends chosen by settings, built once per orchestrator and shared
by the worker and the services that stop releases (project deletion)."""

from __future__ import annotations

from dataclasses import dataclass

from nanoscale.context import AppContext
from nanoscale.engine.proxy.base import Proxy
from nanoscale.engine.proxy.factory import make_proxy
from nanoscale.engine.runtime.base import Runtime
from nanoscale.settings import Settings

COMPONENT = "deploy_backends"


@dataclass
class Backends:
    runtime: Runtime
    proxy: Proxy

    def close(self) -> None:
        self.runtime.close()
        self.proxy.close()


def make_runtime(settings: Settings) -> Runtime:
    if settings.runtime == "systemd":
        from nanoscale.engine.runtime.systemd import SystemdRuntime  # type: ignore[import-not-found]

        runtime: Runtime = SystemdRuntime(settings)
        return runtime
    from nanoscale.engine.runtime.process import ProcessRuntime

    return ProcessRuntime(settings.data_dir.resolve() / "runtime")


def backends_for(ctx: AppContext) -> Backends:
    existing = ctx.components.get(COMPONENT)
    if isinstance(existing, Backends):
        return existing
    backends = Backends(runtime=make_runtime(ctx.settings), proxy=make_proxy(ctx.settings))
    ctx.components[COMPONENT] = backends
    return backends


def close_backends(ctx: AppContext) -> None:
    """Orchestrator shutdown: stop supervising (releases and routes stay up for the restart)."""
    backends = ctx.components.pop(COMPONENT, None)
    if isinstance(backends, Backends):
        backends.close()
