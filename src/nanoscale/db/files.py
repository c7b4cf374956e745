"""File modes of what NanoScale keeps on disk: the data directory and the SQLite database.

The database holds password hashes and session data, so it is the orchestrator's alone
(0600; SQLite gives its -wal and -shm files the database file's mode). The data directory is
0711: other users (per-project system users among them) may pass through it to reach their
own release directories, but cannot list it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import make_url

DATA_DIR_MODE = 0o711
PRIVATE_FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def prepare_data_dir(path: Path) -> None:
    """Create the directory 0711, or take read and write away from others on an existing one
    we own (a shared sticky directory such as /tmp is left alone)."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(DATA_DIR_MODE)
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & stat.S_ISVTX:
        _chmod_if_owned(path, mode & ~0o066)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory ones)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def prepare_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (it would use 0644), and take group and
    world access away from an existing one and its companions."""
    path = sqlite_path(url)
    if path is None:
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        pass
    except FileNotFoundError:
        return  # no such directory: connecting reports it
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        if candidate.exists():
            _chmod_if_owned(candidate, stat.S_IMODE(candidate.stat().st_mode) & ~0o077)


def readable_by_others(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))


def _chmod_if_owned(path: Path, mode: int) -> None:
    if path.stat().st_uid == os.geteuid() and stat.S_IMODE(path.stat().st_mode) != mode:
        path.chmod(mode)
