"""Creating a project: every input problem found at once, then the row with a free port.

`check_new_project` finds everything `create_project` would refuse before anything is
written (and asks the Git host whether the source answers); `create_project` writes the
row, its encrypted values and the audit event. A provider-backed source (`TrustedSource`)
comes only from that provider's integration, never from user input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.base import new_id
from nanoscale.errors import InvalidInput, raise_all
from nanoscale.logs import get_logger
from nanoscale.projects import git_hosts, reachability, secrets, uniqueness
from nanoscale.projects.fields import (
    check_final_state,
    clean_fields,
    clean_password,
    gather,
    merge_env,
)
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import ProjectCreate
from nanoscale.settings import Settings

log = get_logger("nanoscale.projects")


@dataclass(frozen=True)
class TrustedSource:
    """A provider-backed source, built only by that provider's integration after it checked
    the user's access (the GitHub integration): never from user input directly."""

    provider: str
    repo_url: str
    repo_id: int
    branch: str


@dataclass(frozen=True)
class _CleanCreate:
    values: dict[str, Any]
    env: dict[str, str]
    password: str | None


def check_new_project(
    session: Session, *, ctx: AppContext, data: ProjectCreate, pending: Sequence[InvalidInput] = ()
) -> str | None:
    """Everything `create_project` would refuse, found before anything is written: every
    field's problem at once (plus `pending`, problems the caller found in input the service
    never sees), a taken name or domain, then - unless NANOSCALE_VERIFY_GIT_SOURCE is off -
    the repository and branch, checked with the given credentials. Returns the branch head to
    deploy first (None when the check is off). Commits the session before the network call."""
    settings = git_hosts.effective_settings(session, ctx.settings)
    clean = _clean_create(data, settings=settings, pending=pending)
    values = clean.values
    uniqueness.check_unique(session, name=values["name"], domain=values["domain"], exclude_id=None)
    if not ctx.settings.verify_git_source:
        return None
    return reachability.source_head(session, fields=values, password=clean.password)


def create_project(
    session: Session,
    *,
    ctx: AppContext,
    owner: User,
    data: ProjectCreate,
    ip: str | None = None,
    source: TrustedSource | None = None,
) -> Project:
    clean = _clean_create(
        data, settings=git_hosts.effective_settings(session, ctx.settings), source=source
    )
    project = Project(id=new_id(), owner_id=owner.id, **clean.values)
    secrets.write_env_vars(project, clean.env, keyring=ctx.keyring)
    secrets.write_git_password(project, clean.password, keyring=ctx.keyring)
    uniqueness.insert_with_free_port(session, project, settings=ctx.settings)
    audit.record(
        session, action="project.created", actor=owner, ip=ip, target=f"project:{project.name}",
        details={"project_id": project.id},
    )  # fmt: skip
    log.info("project.created", project_id=project.id, project=project.name)
    return project


def _clean_create(
    data: ProjectCreate,
    *,
    settings: Settings,
    pending: Sequence[InvalidInput] = (),
    source: TrustedSource | None = None,
) -> _CleanCreate:
    """`data` validated, with every problem (and the caller's `pending` ones) raised at once.
    A provider-backed `source` replaces `repo_url`/`branch` (only its integration builds one)."""
    errors = list(pending)
    raw = data.model_dump(exclude={"env_vars", "git_password", "github_source"})
    if source is not None:
        raw.pop("repo_url", None)
        if raw.get("git_username") or data.git_password:
            raise InvalidInput("GitHub projects use the App's tokens, not a Git username",
                               field="git_username")  # fmt: skip
    elif data.github_source is not None:
        raise InvalidInput("github_source is handled by the GitHub integration",
                           field="github_source")  # fmt: skip
    values = gather(errors, lambda: clean_fields(raw, settings=settings))
    if values is not None and source is not None:
        values |= _trusted_values(source, settings=settings)
    env = gather(errors, lambda: merge_env({}, dict(data.env_vars)))
    secret = data.git_password.get_secret_value() if data.git_password else None
    password = gather(errors, lambda: clean_password(secret))
    if values is not None:
        gather(errors, lambda: check_final_state(values, has_password=bool(secret)))
    raise_all(errors)
    assert values is not None  # raise_all raised otherwise
    return _CleanCreate(values=values, env=env or {}, password=password)


def _trusted_values(source: TrustedSource, *, settings: Settings) -> dict[str, Any]:
    cleaned = clean_fields(
        {"repo_url": source.repo_url, "branch": source.branch}, settings=settings, partial=True
    )
    return cleaned | {"source_provider": source.provider, "source_repo_id": source.repo_id}
