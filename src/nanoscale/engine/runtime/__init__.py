"""Runtime backends: how a built release runs (supervised process, systemd unit, or static)."""

from nanoscale.engine.runtime.base import ReleaseHandle, ReleaseSpec, Runtime
from nanoscale.engine.runtime.factory import make_runtime

__all__ = ["ReleaseHandle", "ReleaseSpec", "Runtime", "make_runtime"]
