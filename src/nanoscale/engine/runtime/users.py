"""Per-project unprivileged system users (`ns-<project>`), used for builds and releases when
the orchestrator runs as root, so one project's code can touch neither another project's
files nor NanoScale's. When not root, everything runs as the orchestrator's own user."""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from nanoscale.errors import PlatformError

MAX_NAME = 32  # useradd's limit
_lock = threading.Lock()  # useradd/userdel lock /etc/passwd; serialize our own calls


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int


def project_user_name(project_name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", project_name.lower()).strip("-") or "project"
    name = f"ns-{slug}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(project_name.encode()).hexdigest()[:8]
    return f"ns-{slug[: MAX_NAME - 12].rstrip('-')}-{digest}"


def lookup(name: str) -> Account | None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _run(cmd: list[str], ok_codes: set[int]) -> None:
    for _attempt in range(5):
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode in ok_codes:
            return
        if result.returncode != 10:  # 10: /etc/passwd busy (another tool holds the lock)
            break
        time.sleep(0.2)
    raise PlatformError(
        f"{cmd[0]} failed ({result.returncode}): {result.stderr.strip()[:200]}",
        code="project_user_failed",
    )


def ensure_project_user(project_name: str) -> str | None:
    """Create (once) and return the project's system user; None when not running as root."""
    if os.geteuid() != 0:
        return None
    name = project_user_name(project_name)
    with _lock:
        if lookup(name) is None:
            nologin = shutil.which("nologin", path="/usr/sbin:/sbin:/usr/bin") or "/bin/false"
            _run(
                [
                    *("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent"),
                    *("--shell", nologin, "--user-group", name),
                ],
                ok_codes={0, 9},  # 9: created concurrently by someone else
            )
    return name


def remove_project_user(project_name: str) -> None:
    """Delete the project's user and group (stop its releases and builds first)."""
    if os.geteuid() != 0:
        return
    name = project_user_name(project_name)
    with _lock:
        if lookup(name) is not None:
            _run(["userdel", name], ok_codes={0, 6})  # 6: already gone


def give_tree_to(path: Path, account: Account) -> None:
    """Make a release directory the user's own, so the app can read it (and write its files)."""
    if path.stat().st_uid == account.uid:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, account.uid, account.gid, follow_symlinks=False)
        for entry in dirs + files:
            os.chown(Path(root) / entry, account.uid, account.gid, follow_symlinks=False)


def check_reachable(path: Path, account: Account) -> None:
    """Every ancestor must be searchable by the user, or the app cannot even chdir there."""
    for ancestor in path.resolve().parents:
        st = ancestor.stat()
        if st.st_uid == account.uid or st.st_mode & 0o001:
            continue
        if st.st_gid == account.gid and st.st_mode & 0o010:
            continue
        raise PlatformError(
            f"{ancestor} is not searchable by {account.name}; give it mode o+x "
            "(NanoScale's data directory must be traversable by project users)",
            code="release_dir_unreachable",
        )
