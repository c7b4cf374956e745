"""Publish a static site: copy ONLY its output directory to a tree the platform owns.

The release directory (source included) stays private to the project's user; the proxy
serves `<data_dir>/published/<project>/<deployment>`, a copy owned by the orchestrator's
user, group the proxy's group, directories 0750 and files 0640: readable by the proxy and
nobody else, and out of the tenant's reach, so a process the build left behind cannot later
swap a published file for a link to a host file.

The copy never follows a link while reading the tenant's tree (files are opened with
`O_NOFOLLOW` relative to an already opened directory and checked to be regular files), so a
file swapped for a link between the check and the copy is refused, not read as root. A link
inside the output that stays inside it is recreated as a relative link that cannot leave the
published copy however links chain; anything else (devices, sockets, FIFOs) is skipped.
"""

from __future__ import annotations

import itertools
import os
import shutil
import stat
from pathlib import Path

from nanoscale.errors import UserCodeError

PUBLISHED_ROOT_MODE = 0o711  # enter, never list
PUBLISHED_DIR_MODE = 0o750
PUBLISHED_FILE_MODE = 0o640
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK  # a FIFO must not block the open


def publish_static(source: Path, dest: Path, *, group: int | None) -> None:
    """Copy `source` to `dest` (which must not exist); `group` may read it (None: owner only)."""
    for parent in (dest.parent.parent, dest.parent):
        parent.mkdir(mode=PUBLISHED_ROOT_MODE, parents=True, exist_ok=True)
        parent.chmod(PUBLISHED_ROOT_MODE)
    base = source.resolve()
    source_fd = os.open(base, _DIR_FLAGS)
    try:
        dest.mkdir(mode=0o700)
        _copy_dir(source_fd, base, Path(), dest)
    finally:
        os.close(source_fd)
    _set_modes(dest, group)


def unpublish(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)


def _copy_dir(dir_fd: int, base: Path, relative: Path, dest_root: Path) -> None:
    for name in os.listdir(dir_fd):
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        target = dest_root / relative / name
        if stat.S_ISDIR(info.st_mode):
            try:
                child_fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError:  # swapped for a link (ELOOP, ENOTDIR) since it was listed
                raise _changed(relative / name) from None
            try:
                target.mkdir(mode=0o700)
                _copy_dir(child_fd, base, relative / name, dest_root)
            finally:
                os.close(child_fd)
        elif stat.S_ISREG(info.st_mode):
            _copy_file(dir_fd, name, target, relative / name)
        elif stat.S_ISLNK(info.st_mode):
            _copy_link(dir_fd, name, base, relative, target)


def _copy_file(dir_fd: int, name: str, target: Path, relative: Path) -> None:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError:  # swapped for a link (ELOOP) or removed since it was listed
        raise _changed(relative) from None
    with os.fdopen(fd, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise _changed(relative)
        with target.open("xb") as writer:
            shutil.copyfileobj(reader, writer)


def _copy_link(dir_fd: int, name: str, base: Path, relative: Path, target: Path) -> None:
    """Recreate an inside link as `../` * k + names with k no deeper than the link itself:
    however such links chain in the copy, resolving them never leaves it."""
    real = Path(os.path.realpath(base / relative / name))
    text = os.path.relpath(real, base / relative)
    parts = Path(text).parts
    ups = len(parts) - len(list(itertools.dropwhile(lambda part: part == "..", parts)))
    if (real != base and base not in real.parents) or ups > len(relative.parts):
        raise _outside(relative / name)
    target.symlink_to(text)


def _set_modes(dest: Path, group: int | None) -> None:
    gid = -1 if group is None else group
    for dirpath, _dirnames, filenames in os.walk(dest):  # our own tree: no tenant can change it
        directory = Path(dirpath)
        os.chown(directory, -1, gid)
        directory.chmod(PUBLISHED_DIR_MODE)
        for name in filenames:
            path = directory / name
            if not path.is_symlink():
                os.chown(path, -1, gid)
                path.chmod(PUBLISHED_FILE_MODE)


def _outside(relative: Path) -> UserCodeError:
    return UserCodeError(
        f"the output directory contains {str(relative)!r}, a symbolic link to a path outside "
        "it; a static site may only publish files inside its output directory",
        code="static_symlink_outside",
    )


def _changed(relative: Path) -> UserCodeError:
    return UserCodeError(
        f"the output directory changed while it was being published ({str(relative)!r} is "
        "no longer a regular file inside it): a process from the build is still writing",
        code="static_output_changed",
    )
