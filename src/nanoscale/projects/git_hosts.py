"""The Git hosts projects may use: NANOSCALE_GIT_ALLOWED_HOSTS plus those an admin added.

The environment variable stays the default and the floor (its hosts cannot be removed here).
Added hosts live in the database, so a change applies at once, without a restart, to new
projects, source changes and every later fetch. The URL rules are the settings' own
(`Settings.git_url_allowed`: https, no credentials in the URL, plain http only to loopback
in development), applied to the combined list.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from nanoscale.accounts import audit
from nanoscale.accounts.models import User
from nanoscale.db.engine import session_scope
from nanoscale.errors import Conflict, Forbidden, InvalidInput, NotFound
from nanoscale.logs import get_logger
from nanoscale.projects.models import GitHost
from nanoscale.settings import Settings

log = get_logger("nanoscale.projects")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"(?P<name>{_LABEL}(?:\.{_LABEL})*)(?::(?P<port>[0-9]{{1,5}}))?")


def added_hosts(session: Session) -> Sequence[GitHost]:
    return session.scalars(select(GitHost).order_by(GitHost.host)).all()


def effective_settings(session: Session, settings: Settings) -> Settings:
    """`settings` with the added hosts appended to `git_allowed_hosts`."""
    extra = [h.host for h in added_hosts(session) if h.host not in settings.git_allowed_hosts]
    if not extra:
        return settings
    return settings.model_copy(update={"git_allowed_hosts": [*settings.git_allowed_hosts, *extra]})


def url_checker(sessions: sessionmaker[Session], settings: Settings) -> Callable[[str], bool]:
    """For the deploy engine: is this URL (a repository or a submodule) allowed right now?"""

    def allowed(url: str) -> bool:
        if settings.git_url_allowed(url):
            return True
        with session_scope(sessions) as session:
            return effective_settings(session, settings).git_url_allowed(url)

    return allowed


def clean_host(value: str) -> str:
    """`host` or `host:port` (lowercase); no scheme, path, credentials or wildcard."""
    host = value.strip().lower().removesuffix(".")
    match = _HOST.fullmatch(host)
    if len(host) > 260 or match is None:
        raise InvalidInput(
            "give a host name, optionally with a port: git.example.com or 127.0.0.1:3000 "
            "(no https://, path or credentials)",
            code="git_host_invalid",
            field="host",
        )
    port = match.group("port")
    if port is not None and not 0 < int(port) < 65536:
        raise InvalidInput("ports are 1-65535", code="git_host_invalid", field="host")
    try:
        ipaddress.ip_address(match.group("name"))
    except ValueError:
        if match.group("name").rsplit(".", 1)[-1].isdigit():
            raise InvalidInput(
                "not a valid host name or IPv4 address", code="git_host_invalid", field="host"
            ) from None
    return host


def add_host(
    session: Session, *, actor: User, settings: Settings, host: str, ip: str | None = None
) -> GitHost:
    _require_admin(actor)
    clean = clean_host(host)
    if clean in settings.git_allowed_hosts:
        raise Conflict(
            f"{clean} is already allowed by NANOSCALE_GIT_ALLOWED_HOSTS",
            code="git_host_exists",
            field="host",
        )
    row = GitHost(host=clean, added_by=actor.username)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(
            f"{clean} is already allowed", code="git_host_exists", field="host"
        ) from None
    audit.record(session, action="git_host.added", actor=actor, ip=ip, target=f"git_host:{clean}")
    log.info("projects.git_host_added", host=clean)
    return row


def remove_host(session: Session, *, actor: User, host_id: str, ip: str | None = None) -> None:
    """Projects already on the host keep their settings but can no longer fetch from it."""
    _require_admin(actor)
    row = session.get(GitHost, host_id) if len(host_id) <= 32 else None
    if row is None:
        raise NotFound("no such Git host", code="git_host_not_found")
    session.delete(row)
    audit.record(
        session, action="git_host.removed", actor=actor, ip=ip, target=f"git_host:{row.host}"
    )
    log.info("projects.git_host_removed", host=row.host)


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden("only admins can change the allowed Git hosts", code="admin_required")
