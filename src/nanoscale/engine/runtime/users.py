"""Per-project unprivileged system users (`ns-<project>-<id prefix>`), used for builds and
releases when the orchestrator runs as root, so one project's code can touch neither another
project's files nor NanoScale's. When not root, everything runs as the orchestrator's own user.

An account is never inherited: its name carries the project's unique id, and its comment
(GECOS) field records that id when NanoScale creates it. An existing account whose comment
names another project (or none) is refused, never adopted: a user left behind by a deleted
project, or made by someone else, may own files or processes the new project must not get.
"""

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

from nanoscale.engine.runtime import procfs
from nanoscale.errors import PlatformError

MAX_NAME = 32  # useradd's limit
ID_CHARS = 8
COMMENT_PREFIX = "nanoscale project "
_lock = threading.Lock()  # useradd/userdel lock /etc/passwd; serialize our own calls


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int


def project_user_name(project_name: str, project_id: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", project_name.lower()).strip("-") or "project"
    unique = re.sub(r"[^a-z0-9]", "", project_id.lower())[:ID_CHARS]
    if len(unique) < ID_CHARS:
        unique = hashlib.sha256(project_id.encode()).hexdigest()[:ID_CHARS]
    return f"ns-{slug[: MAX_NAME - 4 - ID_CHARS].rstrip('-')}-{unique}"


def owner_comment(project_id: str) -> str:
    return f"{COMMENT_PREFIX}{project_id}"


def lookup(name: str) -> Account | None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _comment(name: str) -> str | None:
    try:
        return pwd.getpwnam(name).pw_gecos
    except KeyError:
        return None


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


def ensure_project_user(project_name: str, project_id: str) -> str | None:
    """Create (once) and return the project's system user; None when not running as root.
    Raises `PlatformError` (project_user_conflict) for an account NanoScale did not make for
    this project."""
    if os.geteuid() != 0:
        return None
    name = project_user_name(project_name, project_id)
    with _lock:
        if lookup(name) is None:
            _create(name, project_id)
        if _comment(name) != owner_comment(project_id):
            raise PlatformError(
                f"the system user {name} already exists but was not created by NanoScale for "
                "this project; it is not reused. Remove it (userdel) if it is a leftover",
                code="project_user_conflict",
            )
    return name


def _create(name: str, project_id: str) -> None:
    nologin = shutil.which("nologin", path="/usr/sbin:/sbin:/usr/bin") or "/bin/false"
    _run(
        [
            *("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent"),
            *("--shell", nologin, "--comment", owner_comment(project_id)),
            *("--user-group", name),
        ],
        ok_codes={0, 9},  # 9: exists (made concurrently): its comment decides afterwards
    )
    account = lookup(name)
    # A uid freed by a forced deletion may come back while a process of its old owner still
    # runs: that process would then own the new project's files.
    holders = procfs.uid_pids(account.uid) if account else []
    if account is not None and holders and _comment(name) == owner_comment(project_id):
        _run(["userdel", "--force", name], ok_codes={0, 6})  # busy: that process runs
        raise PlatformError(
            f"the uid {account.uid} given to the new system user {name} still has running "
            f"processes (pid {holders[0]}); the user was removed again. End those processes",
            code="project_user_conflict",
        )


def remove_project_user(project_name: str, project_id: str) -> None:
    """Delete the project's user and group (stop its releases and builds first); an account
    of that name that is not this project's is left alone."""
    if os.geteuid() != 0:
        return
    name = project_user_name(project_name, project_id)
    with _lock:
        if _comment(name) == owner_comment(project_id):
            _run(["userdel", name], ok_codes={0, 6})  # 6: already gone


def give_tree_to(path: Path, account: Account) -> None:
    """Make a freshly fetched release directory the user's own (before any tenant code has
    run in it). Never follows a symbolic link: the top is opened with O_NOFOLLOW and every
    entry is changed relative to its verified parent directory's descriptor."""
    try:
        top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise PlatformError(
            f"release directory {path.name} is not a plain directory ({exc.strerror})",
            code="release_dir_unsafe",
        ) from None
    try:
        os.fchown(top, account.uid, account.gid)
        for _root, dirs, files, root_fd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
            for entry in (*dirs, *files):
                os.chown(entry, account.uid, account.gid, dir_fd=root_fd, follow_symlinks=False)
    finally:
        os.close(top)


def take_tree_back(path: Path) -> None:
    """A built static site becomes root's (read-only to its project): nothing running as the
    project's user, now or later, can swap its files or links after they were checked."""
    give_tree_to(path, Account("root", 0, 0))


def check_workdir(workdir: Path, tree: Path | None) -> None:
    """Before every launch: the working directory is still the plain directory inside the
    release tree that was computed at deploy time (no component swapped for a link)."""
    base = tree or workdir
    try:
        relative = workdir.relative_to(base)
    except ValueError:
        relative = None
    real = Path(os.path.realpath(workdir))
    if relative is None or real != workdir or _has_link(base, relative):
        raise PlatformError(
            f"the release directory changed since it was deployed ({workdir.name} is no "
            "longer a plain directory inside it); redeploy the project",
            code="release_dir_unsafe",
        )


def _has_link(base: Path, relative: Path) -> bool:
    current = base
    for part in ("", *relative.parts):
        current = current / part if part else current
        if current.is_symlink() or not current.is_dir():
            return True
    return False


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
