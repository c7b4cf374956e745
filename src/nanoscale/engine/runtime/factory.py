"""Choose the runtime backend from settings (`NANOSCALE_RUNTIME`)."""

from __future__ import annotations

from nanoscale.engine.runtime.base import Runtime
from nanoscale.engine.runtime.process import ProcessRuntime
from nanoscale.engine.runtime.systemd import SystemdRuntime
from nanoscale.settings import Settings


def make_runtime(settings: Settings) -> Runtime:
    state_dir = settings.data_dir / "runtime"
    if settings.runtime == "systemd":
        return SystemdRuntime(state_dir)
    return ProcessRuntime(state_dir)
