"""Changing a project: the fields present in the request, every problem reported at once.

The name is fixed at creation (it names the host, system user and services). A changed
source (URL, branch or Git credential) of a manual project is checked against the Git host
like a new project's before anything is saved; env vars not in the request are not even
decrypted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.errors import Conflict, InvalidInput, raise_all
from nanoscale.logs import get_logger
from nanoscale.projects import git_hosts, reachability, secrets, uniqueness
from nanoscale.projects.fields import (
    check_final_state,
    clean_fields,
    clean_password,
    gather,
    merge_env,
)
from nanoscale.projects.lookup import get_project
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import ProjectUpdate

log = get_logger("nanoscale.projects")

_SOURCE_FIELDS = ("repo_url", "branch", "git_username")
# What the final-state and uniqueness checks read when the request leaves a field out.
_CHECKED_FIELDS = (
    "name", "domain", "git_username", "source_provider", "source_repo_id", "repo_url", "branch",
)  # fmt: skip


def update_project(
    session: Session,
    *,
    ctx: AppContext,
    user: User,
    project_id: str,
    data: ProjectUpdate,
    ip: str | None = None,
) -> Project:
    """Change the fields present in `data`. Every problem is reported at once; a changed
    source (URL, branch or Git credential) is checked like a new project's before saving."""
    project = get_project(session, user=user, project_id=project_id)
    present = data.model_dump(include=data.model_fields_set, exclude={"env_vars", "git_password"})
    errors: list[InvalidInput] = []
    settings = git_hosts.effective_settings(session, ctx.settings)
    values = gather(errors, lambda: clean_fields(present, settings=settings, partial=True))
    gather(errors, lambda: _check_name_unchanged(project, values or {}))
    env = None
    if data.env_vars is not None:  # untouched env vars are not even decrypted
        patch = dict(data.env_vars)
        env = gather(
            errors, lambda: merge_env(secrets.read_env_vars(project, keyring=ctx.keyring), patch)
        )
    password_set = "git_password" in data.model_fields_set
    secret = data.git_password.get_secret_value() if data.git_password else None
    new_password = gather(errors, lambda: clean_password(secret))
    raise_all(errors)
    assert values is not None
    if "git_username" in values and values["git_username"] is None:
        password_set, new_password = True, None  # removing the username drops the credential
    final = {**{name: getattr(project, name) for name in _CHECKED_FIELDS}, **values}
    has_password = bool(new_password) if password_set else bool(project.git_password_encrypted)
    check_final_state(final, has_password=has_password)
    uniqueness.check_unique(
        session, name=final["name"], domain=final["domain"], exclude_id=project.id
    )
    if _source_changed(project, values, password_set=password_set, new_password=new_password):
        password = new_password if password_set else _stored_password(project, ctx)
        _verify_source(session, ctx=ctx, final=final, password=password)
    for key, value in values.items():
        setattr(project, key, value)
    if env is not None:
        secrets.write_env_vars(project, env, keyring=ctx.keyring)
    if password_set:
        secrets.write_git_password(project, new_password, keyring=ctx.keyring)
    uniqueness.flush_or_conflict(session)
    changed = sorted(values) + (["env_vars"] if data.env_vars else [])
    changed += ["git_password"] if password_set else []
    audit.record(
        session, action="project.updated", actor=user, ip=ip, target=f"project:{project.name}",
        details={"project_id": project.id, "fields": changed},
    )  # fmt: skip
    log.info("project.updated", project_id=project.id, fields=changed)
    return project


def _check_name_unchanged(project: Project, values: dict[str, Any]) -> None:
    """The name is the project's identity outside the database: its host name
    (`<name>.<base domain>`), its system user and its systemd units. Renaming would leave a
    running release, a proxy route and a user under the old name, so it is fixed at creation
    (sending the current name back is fine). `domain` is the way to change the public URL."""
    if "name" in values and values["name"] != project.name:
        raise Conflict(  # a valid name, but not this project's: it conflicts with its state
            "a project's name cannot change after creation (it names the project's host, "
            "system user and services); set a custom domain, or create a new project",
            code="name_immutable",
            field="name",
        )


def _source_changed(
    project: Project, values: dict[str, Any], *, password_set: bool, new_password: str | None
) -> bool:
    moved = any(k in values and values[k] != getattr(project, k) for k in _SOURCE_FIELDS)
    if not password_set:
        return moved
    # A new password, or dropping a stored one; keeping "no credential" changes nothing.
    return moved or bool(new_password) or project.git_password_encrypted is not None


def _stored_password(project: Project, ctx: AppContext) -> str | None:
    stored = secrets.read_git_credential(project, keyring=ctx.keyring)
    return stored[1] if stored else None


def _verify_source(
    session: Session, *, ctx: AppContext, final: dict[str, Any], password: str | None
) -> None:
    """The changed source must answer like a new project's (GitHub projects' tokens come from
    the integration, so only manual ones are checked here)."""
    if not ctx.settings.verify_git_source or final.get("source_provider") != "manual":
        return
    reachability.source_head(session, fields=final, password=password)
