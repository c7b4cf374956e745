"""The running release's own output (what the app prints to stdout/stderr).

The runtime appends it to a file per release (`ProjectPaths.release_log`). Readers get the
last lines of the project's current live release, or follow it: new output as it is written,
and a switch to the next release's output after a redeploy or rollback. Nothing is added but
the app's own output and the runtime's `[nanoscale]` notes (restarts, re-adoption).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.deployments.logs.file_tail import FileFollower, tail_lines
from nanoscale.deployments.logs.pacing import IDLE, Idle
from nanoscale.deployments.releases import current_release, project_paths
from nanoscale.projects.models import Project
from nanoscale.projects.service import get_project
from nanoscale.settings import Settings

DEFAULT_LINES = 200
MAX_LINES = 2000
RECHECK_SECONDS = 2.0  # how often a follower looks for a newer release
KEEPALIVE_SECONDS = 15.0


@dataclass(frozen=True)
class ReleaseEvent:
    """`release`: now following this deployment's release (`data` is its id, or "" when
    nothing runs); `output`: text the app wrote; `keepalive`: nothing new (keeps proxies and
    the client's connection check happy)."""

    kind: Literal["release", "output", "keepalive"]
    data: str


def release_output_text(
    session: Session, *, ctx: AppContext, user: User, project_id: str, lines: int = DEFAULT_LINES
) -> str:
    """The last `lines` lines the project's live release printed ("" when nothing runs)."""
    project = get_project(session, user=user, project_id=project_id)  # 404 unless visible
    live = current_release(session, project.id)
    if live is None:
        return ""
    path = project_paths(ctx.settings, project.id).release_log(live.id)
    return tail_lines(path, _bounded(lines))[0]


def release_output_stream(
    session: Session, *, ctx: AppContext, user: User, project_id: str, lines: int = DEFAULT_LINES
) -> Iterator[ReleaseEvent | Idle]:
    """Checks access now, then follows the project's live release output (see `follow`)."""
    project = get_project(session, user=user, project_id=project_id)  # 404 unless visible
    return follow_release_output(
        ctx.sessions, settings=ctx.settings, project_id=project.id, lines=_bounded(lines)
    )


def follow_release_output(
    sessions: sessionmaker[Session],
    *,
    settings: Settings,
    project_id: str,
    lines: int = DEFAULT_LINES,
) -> Iterator[ReleaseEvent | Idle]:
    """Endless while the project exists: the current release's last lines, then its new
    output; on a release switch, the new release's last lines and so on."""
    started, following = False, None
    follower: FileFollower | None = None
    checked, idle_since = 0.0, time.monotonic()
    while True:
        now = time.monotonic()
        if now - checked >= RECHECK_SECONDS:
            checked = now
            exists, live_id = _current(sessions, project_id)
            if not exists:
                return
            if not started or live_id != following:
                started, following = True, live_id
                follower = None
                yield ReleaseEvent("release", live_id or "")
                if live_id is not None:
                    path = project_paths(settings, project_id).release_log(live_id)
                    text, offset = tail_lines(path, lines)
                    follower = FileFollower(path, offset)
                    if text:
                        yield ReleaseEvent("output", text)
        text = follower.read_new() if follower else ""
        if text:
            idle_since = time.monotonic()
            yield ReleaseEvent("output", text)
            continue
        if time.monotonic() - idle_since >= KEEPALIVE_SECONDS:
            idle_since = time.monotonic()
            yield ReleaseEvent("keepalive", "")
        yield IDLE


def _current(sessions: sessionmaker[Session], project_id: str) -> tuple[bool, str | None]:
    with session_scope(sessions) as session:
        if session.scalar(select(Project.id).where(Project.id == project_id)) is None:
            return False, None
        live = current_release(session, project_id)
        return True, live.id if live else None


def _bounded(lines: int) -> int:
    return max(1, min(lines, MAX_LINES))
