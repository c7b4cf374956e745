"""The runtime and proxy backends chosen by settings, built once per orchestrator and shared
by the worker and the services that stop releases or show URLs. The runtime is built on
first use, so an API process that only shows URLs never starts a runtime supervisor."""

from __future__ import annotations

from nanoscale.context import AppContext
from nanoscale.engine.proxy.base import Proxy
from nanoscale.engine.proxy.factory import make_proxy
from nanoscale.engine.runtime.base import Runtime
from nanoscale.engine.runtime.factory import make_runtime
from nanoscale.settings import Settings

COMPONENT = "deploy_backends"


class Backends:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._runtime: Runtime | None = None
        self.proxy: Proxy = make_proxy(settings)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = make_runtime(self._settings)
        return self._runtime

    def close(self) -> None:
        """Stop supervising; releases and routes stay up for the next orchestrator."""
        if self._runtime is not None:
            self._runtime.close()
        self.proxy.close()


def backends_for(ctx: AppContext) -> Backends:
    existing = ctx.components.get(COMPONENT)
    if isinstance(existing, Backends):
        return existing
    backends = Backends(ctx.settings)
    ctx.components[COMPONENT] = backends
    return backends


def close_backends(ctx: AppContext) -> None:
    backends = ctx.components.pop(COMPONENT, None)
    if isinstance(backends, Backends):
        backends.close()
