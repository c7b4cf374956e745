"""Applies `validation.py`'s rules to create/update input, naming every field that fails."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from nanoscale.errors import InvalidFields, InvalidInput, raise_all
from nanoscale.projects import validation as v
from nanoscale.settings import Settings

_REQUIRED = {"name", "repo_url", "branch", "root_directory", "health_check_path", "source_provider"}
# Empty strings in these optional fields mean "not set" (handy for HTML forms).
_BLANK_IS_NONE = {
    "install_command", "build_command", "start_command", "output_directory", "domain",
    "git_username",
}  # fmt: skip


T = TypeVar("T")


def gather(errors: list[InvalidInput], check: Callable[[], T]) -> T | None:
    """Run one check; its InvalidInput (or each of an InvalidFields) joins `errors`, so a form
    reports all its problems at once."""
    try:
        return check()
    except InvalidFields as exc:
        errors.extend(exc.errors)
    except InvalidInput as exc:
        errors.append(exc)
    return None


def _cleaners(settings: Settings) -> dict[str, Callable[[Any], Any]]:
    return {
        "name": v.project_name,
        "repo_url": partial(v.repo_url, settings=settings),
        "branch": v.branch_name,
        "root_directory": v.relative_path,
        "output_directory": v.relative_path,
        "install_command": v.command,
        "build_command": v.command,
        "start_command": v.command,
        "health_check_path": v.health_check_path,
        "domain": partial(v.domain, settings=settings),
        "git_username": partial(v.git_credential_part, max_len=255),
    }


def refuse_github_source(values: dict[str, Any]) -> None:
    """Users may not bind a project to a GitHub repository by id: that would let anyone
    deploy (with the installation's token) a repository they cannot see. Only the GitHub
    integration sets these fields, after checking the user's access to the repository."""
    if values.get("source_provider") == "github":
        raise InvalidInput(
            "source_provider 'github' is set by the GitHub integration when you pick a "
            "repository there, not through this form or API",
            code="github_source_not_settable",
            field="source_provider",
        )
    if values.get("source_repo_id") is not None:
        raise InvalidInput(
            "source_repo_id is set by the GitHub integration when you pick a repository "
            "there, not through this form or API",
            code="github_source_not_settable",
            field="source_repo_id",
        )


def clean_fields(
    values: dict[str, Any], *, settings: Settings, partial: bool = False
) -> dict[str, Any]:
    """Validated, normalized copies of user input (create/update, API and dashboard).
    Every bad field is reported at once (InvalidFields, 422); GitHub source fields are refused."""
    refuse_github_source(values)
    cleaners = _cleaners(settings)
    cleaned: dict[str, Any] = {}
    errors: list[InvalidInput] = []
    for name, raw in values.items():
        blank = name in _BLANK_IS_NONE and isinstance(raw, str) and not raw.strip()
        value = None if blank else raw
        if value is None:
            if partial and name in _REQUIRED:
                errors.append(InvalidInput(f"{name} cannot be null", field=name))
            cleaned[name] = None
            continue
        cleaner = cleaners.get(name)
        try:
            cleaned[name] = cleaner(value) if cleaner else value
        except ValueError as exc:
            errors.append(InvalidInput(str(exc), field=name))
    raise_all(errors)
    return cleaned


def merge_env(env: dict[str, str], patch: dict[str, str | None]) -> dict[str, str]:
    """`env` with `patch` applied: a None value removes the key. Values are never echoed."""
    merged = dict(env)
    for key, value in patch.items():
        try:
            v.env_key(key)
            if value is not None:
                v.env_value(value)
        except ValueError as exc:
            raise InvalidInput(str(exc), field=f"env_vars.{key[:64]}") from None
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def check_final_state(values: dict[str, Any], *, has_password: bool) -> None:
    """Rules across fields, checked on the project as it will be after the change."""
    provider, repo_id = values.get("source_provider"), values.get("source_repo_id")
    if provider == "github" and repo_id is None:
        raise InvalidInput("GitHub projects need source_repo_id", field="source_repo_id")
    if provider == "manual" and repo_id is not None:
        raise InvalidInput(
            "source_repo_id is only for source_provider 'github'", field="source_repo_id"
        )
    if has_password and not values.get("git_username"):
        raise InvalidInput("a Git password needs a git_username", field="git_username")


def clean_password(value: str | None) -> str | None:
    """A Git password/token: empty means none. The value is never echoed."""
    if not value:
        return None
    try:
        return v.git_credential_part(value, max_len=1024)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="git_password") from None
