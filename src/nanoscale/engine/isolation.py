"""File modes that keep one project's build and app out of another project's files.

Per-project users must traverse `<data_dir>/projects/<id>/releases/<deployment>` to reach
their own release, so the shared directories (`projects/` itself included) are 0711 (enter,
never list). Everything only the orchestrator uses (object store, submodule stores, release
logs) is 0700. Every release, a static site's too, is 0750 (its own user and group only):
the proxy serves a static site from a published copy of its output directory alone
(engine/static_publish.py), never from the release with its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nanoscale.engine.runtime.cgroups import ResourceLimits
from nanoscale.engine.runtime.sandbox import Sandbox, make_sandbox
from nanoscale.settings import Settings

TRAVERSE_ONLY = 0o711
PRIVATE = 0o700
RELEASE = 0o750


def lock_down_project_tree(root: Path, *, private_dirs: tuple[Path, ...]) -> None:
    """`root` and its `releases/` become enter-only; `private_dirs` orchestrator-only."""
    for path in (root.parent, root, root / "releases"):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(TRAVERSE_ONLY)
    for path in private_dirs:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(PRIVATE)


def lock_down_release(release_dir: Path) -> None:
    release_dir.chmod(RELEASE)


@dataclass(frozen=True)
class TenantPolicy:
    """How tenant code is confined beyond its own user: resource limits and the sandbox."""

    limits: ResourceLimits | None
    sandbox: Sandbox | None


def tenant_policy(settings: Settings) -> TenantPolicy:
    limits = ResourceLimits(
        memory_bytes=settings.tenant_memory_mb * 2**20,
        max_processes=settings.tenant_max_processes,
        cpu_percent=settings.tenant_cpu_percent,
    )
    sandbox = make_sandbox(settings.sandbox, hidden=(settings.data_dir,))
    return TenantPolicy(limits, sandbox)
