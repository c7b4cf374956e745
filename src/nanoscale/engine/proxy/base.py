"""The proxy interface the engine drives. Backends: `caddy` and `none`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Route:
    project_id: str
    hosts: tuple[str, ...]  # `<name>.<base domain>` plus custom domains
    upstream_port: int | None  # for process releases
    static_root: Path | None  # for static sites


class Proxy(Protocol):
    def apply(self, route: Route) -> None:
        """Create or atomically replace the project's route (no reload, no dropped requests)."""
        ...

    def remove(self, project_id: str) -> None: ...

    def restore(self, routes: list[Route]) -> None:
        """Re-create every route, e.g. after the proxy restarted."""
        ...

    def public_url(self, route: Route) -> str: ...

    def healthy(self) -> bool: ...
