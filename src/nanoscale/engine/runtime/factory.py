"""Choose the runtime backend from settings (`NANOSCALE_RUNTIME`)."""

from __future__ import annotations

from nanoscale.engine.isolation import tenant_policy
from nanoscale.engine.runtime.base import Runtime
from nanoscale.engine.runtime.process import ProcessRuntime
from nanoscale.engine.runtime.systemd import SystemdRuntime
from nanoscale.settings import Settings


def make_runtime(settings: Settings) -> Runtime:
    state_dir = settings.data_dir / "runtime"
    policy = tenant_policy(settings)
    if settings.runtime == "systemd":
        return SystemdRuntime(state_dir, limits=policy.limits)
    return ProcessRuntime(state_dir, limits=policy.limits, sandbox=policy.sandbox)
