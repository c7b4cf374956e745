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
    # The project's own port: without Caddy, its stable address (engine/proxy/none.py).
    stable_port: int | None = None


class Proxy(Protocol):
    def apply(self, route: Route) -> None:
        """Create or atomically replace the project's route (no reload, no dropped requests)."""
        ...

    def remove(self, project_id: str) -> None: ...

    def restore(self, routes: list[Route]) -> None:
        """Re-create every route, e.g. after the proxy restarted."""
        ...

    def public_url(self, route: Route) -> str | None:
        """Where the route is reachable, or None when this proxy does not serve it."""
        ...

    def healthy(self) -> bool: ...

    def static_reader_gid(self) -> int | None:
        """The group that may read published static sites (the proxy's), or None when the
        orchestrator's own user serves them."""
        ...

    def ensure_config(self) -> bool:
        """Re-install the routes if the proxy lost them (e.g. it restarted); True if it did.
        Cheap when nothing is missing: the worker may call it every few seconds."""
        ...

    def close(self) -> None:
        """Orchestrator shutdown (routes stay in the proxy)."""
        ...


def project_hosts(
    project_name: str, base_domain: str, custom_domains: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """`<project>.<base domain>` first (it names the public URL), then custom domains."""
    primary = f"{project_name}.{base_domain}".lower()
    extra = tuple(d.lower() for d in custom_domains if d.lower() != primary)
    return (primary, *dict.fromkeys(extra))
