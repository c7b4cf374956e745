"""Removing the system users of test projects by project name (ids of deleted projects are
gone by cleanup time): every NanoScale-made account whose name has that project's prefix."""

from __future__ import annotations

import contextlib
import pwd
from collections.abc import Iterable

from nanoscale.engine.runtime.users import (
    COMMENT_PREFIX,
    ID_CHARS,
    project_user_name,
    remove_project_user,
)
from nanoscale.errors import PlatformError


def remove_users_of(names: Iterable[str]) -> None:
    project_names = list(names)
    prefixes = {project_user_name(name, "0" * ID_CHARS)[:-ID_CHARS] for name in project_names}
    for entry in pwd.getpwall():
        if not entry.pw_gecos.startswith(COMMENT_PREFIX):
            continue
        if not any(entry.pw_name.startswith(p) for p in prefixes):
            continue
        project_id = entry.pw_gecos.removeprefix(COMMENT_PREFIX)
        for name in project_names:  # busy: a parallel test's process still runs as it
            if entry.pw_name == project_user_name(name, project_id):
                with contextlib.suppress(PlatformError):
                    remove_project_user(name, project_id)
