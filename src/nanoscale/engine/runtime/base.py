"""The runtime interface the engine drives. Backends: `process` (default) and `systemd`.

A release is one deployment's running instance. The engine starts the new release beside the
old one on a fresh port, health-checks it, switches the proxy, then stops the old one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# The handle ref of a static site: served by the proxy from the release directory, no process.
STATIC_REF = "static"


@dataclass(frozen=True)
class ReleaseSpec:
    project_id: str
    project_name: str
    deployment_id: str
    workdir: Path  # built source, `root_directory` already applied
    start_command: str | None  # None for static sites
    static_root: Path | None  # set for static sites (served by the proxy, no process)
    env: Mapping[str, str]  # project env vars; the runtime adds PORT
    port: int
    run_as: str | None  # unprivileged per-project user when running as root
    log_path: Path  # the release's stdout/stderr go here
    # The whole release directory (workdir is inside it): the app's only writable tree.
    tree: Path | None = None


@dataclass(frozen=True)
class ReleaseHandle:
    deployment_id: str
    project_id: str
    port: int
    ref: str  # backend-specific identity: a pid, a unit name, or "static"


class Runtime(Protocol):
    def start(self, spec: ReleaseSpec) -> ReleaseHandle:
        """Start the release and return at once; the engine health-checks it."""
        ...

    def is_running(self, handle: ReleaseHandle) -> bool: ...

    def exit_code(self, handle: ReleaseHandle) -> int | None:
        """How the release's process last ended (negative: the signal that killed it); None
        while it runs or when the backend cannot tell."""
        ...

    def stop(self, handle: ReleaseHandle, *, grace_seconds: float = 10.0) -> None:
        """Stop the release's whole process tree: SIGTERM, then SIGKILL after the grace."""
        ...

    def adopt(self, handles: list[ReleaseHandle], specs: list[ReleaseSpec]) -> list[ReleaseHandle]:
        """After an orchestrator restart: re-adopt live releases or restart them from specs."""
        ...

    def close(self) -> None:
        """Orchestrator shutdown."""
        ...
