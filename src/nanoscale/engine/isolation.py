"""File modes that keep one project's build and app out of another project's files.

Per-project users must traverse `<data_dir>/projects/<id>/releases/<deployment>` to reach
their own release, so the shared directories are 0711 (enter, never list). Everything only
the orchestrator uses (object store, submodule stores, release logs) is 0700. A process
app's release is 0750 (its own user and group only); a static site's stays world-readable
because the proxy, running as its own user, serves it and its files are public anyway.
"""

from __future__ import annotations

from pathlib import Path

TRAVERSE_ONLY = 0o711
PRIVATE = 0o700
PROCESS_RELEASE = 0o750
STATIC_RELEASE = 0o755


def lock_down_project_tree(root: Path, *, private_dirs: tuple[Path, ...]) -> None:
    """`root` and its `releases/` become enter-only; `private_dirs` orchestrator-only."""
    for path in (root, root / "releases"):
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(TRAVERSE_ONLY)
    for path in private_dirs:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(PRIVATE)


def lock_down_release(release_dir: Path, *, static: bool) -> None:
    release_dir.chmod(STATIC_RELEASE if static else PROCESS_RELEASE)
