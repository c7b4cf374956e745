"""Project form parsing: HTML form fields to the services' typed input, and errors back to
fields. Env var values only travel inward; nothing here puts a value into a page."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError
from starlette.datastructures import FormData

from nanoscale.dashboard.presets import COMMAND_FIELDS, apply_preset
from nanoscale.errors import InvalidInput, raise_all
from nanoscale.projects.schemas import ProjectCreate, ProjectUpdate
from nanoscale.validation_messages import input_message

ModelT = TypeVar("ModelT", ProjectCreate, ProjectUpdate)
SOURCE_FIELDS = ("repo_url", "branch", "git_username")
TEXT_FIELDS = (
    "name", *SOURCE_FIELDS, "root_directory", "domain", "health_check_path", *COMMAND_FIELDS,
)  # fmt: skip


def form_values(form: FormData) -> dict[str, str]:
    """The form's plain text fields (never env var values), with the preset's defaults."""
    values = {}
    for name in (*TEXT_FIELDS, "preset"):
        raw = form.get(name)
        if isinstance(raw, str):
            values[name] = raw.strip()
    if form.get("preset_applied") == "1":  # the browser already filled the fields
        return values
    return apply_preset(values, values.get("preset", ""))


def env_patch(
    form: FormData, *, problems: list[InvalidInput] | None = None
) -> dict[str, str | None]:
    """Rows of env_key/env_value: a value sets the key, an empty value keeps what is stored,
    a ticked env_remove deletes. A new project has nothing stored: pass `problems` to collect
    its names without a value (reported with the form's other errors)."""
    keys = [k.strip() if isinstance(k, str) else "" for k in form.getlist("env_key")]
    vals = [v if isinstance(v, str) else "" for v in form.getlist("env_value")]
    patch: dict[str, str | None] = {}
    for key, value in zip(keys, vals, strict=False):
        if key and value:
            patch[key] = value
        elif key and problems is not None:
            problems.append(
                InvalidInput(f"give {key[:64]} a value, or clear its name", field="env_vars")
            )
    for removed in form.getlist("env_remove"):
        if isinstance(removed, str) and removed:
            patch[removed] = None
    return patch


@dataclass(frozen=True)
class EnvRows:
    """The env var editor as submitted, to show again after an error: names only. Values are
    never echoed back, so rows whose value was typed ask for it again."""

    typed: list[str] = field(default_factory=list)  # new names, in the order typed
    retype: set[str] = field(default_factory=set)  # names whose typed value must be re-entered
    removed: set[str] = field(default_factory=set)  # existing names ticked for removal


def env_rows(form: FormData, *, existing: Collection[str] = ()) -> EnvRows:
    keys = [k.strip() if isinstance(k, str) else "" for k in form.getlist("env_key")]
    vals = [v if isinstance(v, str) else "" for v in form.getlist("env_value")]
    rows = EnvRows()
    for key, value in zip(keys, vals, strict=False):
        if key and key not in existing and key not in rows.typed:
            rows.typed.append(key)
        if key and value:
            rows.retype.add(key)
    for removed in form.getlist("env_remove"):
        if isinstance(removed, str) and removed in existing:
            rows.removed.add(removed)
    return rows


def _optional(values: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: values[name] for name in names if name in values}


_EDITABLE = (
    *SOURCE_FIELDS, "root_directory", "domain", "health_check_path", *COMMAND_FIELDS,
)  # fmt: skip


def git_password(form: FormData) -> dict[str, str]:
    """The password field, only when typed: empty keeps the stored one (never echoed back)."""
    raw = form.get("git_password")
    return {"git_password": raw} if isinstance(raw, str) and raw else {}


def project_create(
    values: dict[str, str], env: dict[str, str | None], form: FormData
) -> ProjectCreate:
    names = ("name", "repo_url", "branch", "git_username", "root_directory", "health_check_path")
    data = _optional(values, (*names, *COMMAND_FIELDS))
    data["env_vars"] = {k: v for k, v in env.items() if v is not None}
    return _validated(ProjectCreate, {**data, **git_password(form)})


def github_project_create(
    values: dict[str, str], env: dict[str, str | None], *, installation_id: str, repo_id: str
) -> ProjectCreate:
    """GitHub mode: the repository by its ids, the branch picked from GitHub's list."""
    data = _optional(values, ("name", "root_directory", "health_check_path", *COMMAND_FIELDS))
    data["github_source"] = {
        "installation_id": installation_id or None,
        "repo_id": repo_id or None,
        "selected_branch": values.get("branch") or None,
    }
    data["env_vars"] = {k: v for k, v in env.items() if v is not None}
    try:
        return ProjectCreate.model_validate(data)
    except ValidationError:
        raise InvalidInput("choose a repository from the list", field="repo_id") from None


def project_update(
    values: dict[str, str], env: dict[str, str | None], form: FormData
) -> ProjectUpdate:
    data = _optional(values, _EDITABLE)
    data["env_vars"] = env or None
    return _validated(ProjectUpdate, {**data, **git_password(form)})


def _validated(model: type[ModelT], data: dict[str, Any]) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise_all(
            [
                InvalidInput(input_message(e), field=str(e["loc"][0]) if e["loc"] else None)
                for e in exc.errors()
            ]
        )
        raise  # unreachable: a ValidationError has at least one error
