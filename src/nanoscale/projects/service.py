"""Projects: create, list, read, update and delete, each scoped to what the user may see.

A project another user owns is reported as missing (404), never as forbidden, so ids do
not reveal what exists. Admins see and manage every project.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.base import new_id
from nanoscale.db.transactions import outside_transaction
from nanoscale.errors import Conflict, InvalidInput, NotFound, PlatformError, raise_all
from nanoscale.logs import get_logger
from nanoscale.projects import git_hosts, reachability, secrets
from nanoscale.projects.fields import (
    check_final_state,
    clean_fields,
    clean_password,
    gather,
    merge_env,
)
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import ProjectCreate, ProjectUpdate
from nanoscale.settings import Settings

log = get_logger("nanoscale.projects")

_INSERT_ATTEMPTS = 3


def list_projects(session: Session, *, user: User) -> Sequence[Project]:
    query = select(Project).order_by(Project.name)
    if not user.is_admin:
        query = query.where(Project.owner_id == user.id)
    return session.scalars(query).all()


def get_project(session: Session, *, user: User, project_id: str) -> Project:
    project = session.get(Project, project_id) if len(project_id) <= 32 else None
    if project is None or not (user.is_admin or project.owner_id == user.id):
        raise NotFound("no such project", code="project_not_found")
    return project


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
    _check_unique(session, name=values["name"], domain=values["domain"], exclude_id=None)
    if not ctx.settings.verify_git_source:
        return None
    with outside_transaction(session):  # no lock held while the Git host answers
        return reachability.branch_head(
            url=values["repo_url"],
            branch=values["branch"],
            username=values["git_username"],
            password=clean.password,
        )


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
    _insert_with_free_port(session, project, settings=ctx.settings)
    audit.record(
        session, action="project.created", actor=owner, ip=ip, target=f"project:{project.name}",
        details={"project_id": project.id},
    )  # fmt: skip
    log.info("project.created", project_id=project.id, project=project.name)
    return project


def _trusted_values(source: TrustedSource, *, settings: Settings) -> dict[str, Any]:
    cleaned = clean_fields(
        {"repo_url": source.repo_url, "branch": source.branch}, settings=settings, partial=True
    )
    return cleaned | {"source_provider": source.provider, "source_repo_id": source.repo_id}


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
    final = {**_current(project), **values}
    has_password = bool(new_password) if password_set else bool(project.git_password_encrypted)
    check_final_state(final, has_password=has_password)
    _check_unique(session, name=final["name"], domain=final["domain"], exclude_id=project.id)
    if _source_changed(project, values, password_set=password_set, new_password=new_password):
        password = new_password if password_set else _stored_password(project, ctx)
        _verify_source(session, ctx=ctx, final=final, password=password)
    for key, value in values.items():
        setattr(project, key, value)
    if env is not None:
        secrets.write_env_vars(project, env, keyring=ctx.keyring)
    if password_set:
        secrets.write_git_password(project, new_password, keyring=ctx.keyring)
    _flush(session)
    changed = sorted(values) + (["env_vars"] if data.env_vars else [])
    changed += ["git_password"] if password_set else []
    audit.record(
        session, action="project.updated", actor=user, ip=ip, target=f"project:{project.name}",
        details={"project_id": project.id, "fields": changed},
    )  # fmt: skip
    log.info("project.updated", project_id=project.id, fields=changed)
    return project


_SOURCE_FIELDS = ("repo_url", "branch", "git_username")


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
    with outside_transaction(session):  # no lock held while the Git host answers
        reachability.branch_head(
            url=final["repo_url"],
            branch=final["branch"],
            username=final["git_username"],
            password=password,
        )


def delete_project(
    session: Session, *, ctx: AppContext, user: User, project_id: str, ip: str | None = None
) -> None:
    """Delete the project's row (its releases, route and files are torn down first by
    `nanoscale.deployments.worker.teardown`)."""
    project = get_project(session, user=user, project_id=project_id)
    session.delete(project)
    _flush(session)
    audit.record(
        session, action="project.deleted", actor=user, ip=ip, target=f"project:{project.name}",
        details={"project_id": project.id},
    )  # fmt: skip
    log.info("project.deleted", project_id=project.id, project=project.name)


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


def _current(project: Project) -> dict[str, Any]:
    fields = (
        "name", "domain", "git_username", "source_provider", "source_repo_id", "repo_url",
        "branch",
    )  # fmt: skip
    return {name: getattr(project, name) for name in fields}


def _check_unique(
    session: Session, *, name: str, domain: str | None, exclude_id: str | None
) -> None:
    query = select(Project.id)
    if exclude_id:
        query = query.where(Project.id != exclude_id)
    if session.scalar(query.where(Project.name == name)):
        raise Conflict(f"a project named {name!r} exists", code="name_taken", field="name")
    if domain and session.scalar(query.where(Project.domain == domain)):
        raise Conflict(f"{domain} is used by another project", code="domain_taken", field="domain")


def _free_port(session: Session, settings: Settings) -> int:
    """The lowest free port in the configured range (the unique index catches races)."""
    used = set(session.scalars(select(Project.port)).all())
    for port in range(settings.port_range_start, settings.port_range_end + 1):
        if port not in used:
            return port
    raise PlatformError(
        "no free port left for a new project; widen NANOSCALE_PORT_RANGE_START/END",
        code="port_range_exhausted",
    )


def _insert_with_free_port(session: Session, project: Project, *, settings: Settings) -> None:
    """Insert with the lowest free port. A concurrent creation may take the same port (or
    name/domain) first: the unique index refuses ours, and we retry with a fresh look."""
    for attempt in range(_INSERT_ATTEMPTS):
        _check_unique(session, name=project.name, domain=project.domain, exclude_id=None)
        project.port = _free_port(session, settings)
        try:
            with session.begin_nested():
                session.add(project)
        except IntegrityError:
            if attempt == _INSERT_ATTEMPTS - 1:
                raise Conflict(
                    "projects were being created concurrently; retry", code="conflict"
                ) from None
        else:
            return


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        # A concurrent request took the same name, domain or port between check and insert.
        raise Conflict(
            "another change to projects happened at the same time; retry", code="conflict"
        ) from exc


def find_project_by_name(session: Session, *, name: str) -> Project:
    """For operator tools (CLI) that name projects rather than carry ids."""
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFound(f"no project named {name!r}", code="project_not_found")
    return project


def count_owned_projects(session: Session, owner_id: str) -> int:
    """How many projects `owner_id` owns (a user who owns any cannot be removed)."""
    query = select(func.count()).select_from(Project).where(Project.owner_id == owner_id)
    return int(session.scalar(query) or 0)
