"""What a static site may publish: only files inside its output directory.

Caddy serves the directory and follows symbolic links, so a build that leaves
`dist/x -> /etc/passwd` (or a link to the orchestrator's database) would publish that host
file. After the build (when no build process is left to change the tree) every link under
the root is resolved; one that ends outside the root fails the deployment as the user's doing.
"""

from __future__ import annotations

import os
from pathlib import Path

from nanoscale.errors import UserCodeError


def check_static_root(root: Path) -> None:
    """Raise `UserCodeError` (static_symlink_outside) for a symlink leading out of `root`."""
    base = root.resolve()
    for dirpath, dirnames, filenames in os.walk(base):  # does not descend into linked dirs
        for name in (*dirnames, *filenames):
            path = Path(dirpath) / name
            if path.is_symlink() and not _within(path.resolve(), base):
                relative = path.relative_to(base)
                raise UserCodeError(
                    f"the output directory contains {str(relative)!r}, a symbolic link to a "
                    "path outside it; a static site may only publish files inside its output "
                    "directory (copy the file in instead of linking to it)",
                    code="static_symlink_outside",
                )


def _within(target: Path, base: Path) -> bool:
    return target == base or base in target.parents
