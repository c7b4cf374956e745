"""Typed input for project create/update, shared by the JSON API and the dashboard.

These models check shapes and sizes; the service applies the semantic rules in
`validation.py` (some depend on settings) and raises `InvalidInput` naming the field.
Unknown fields are ignored, so older clients keep working when fields are added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, model_validator

from nanoscale.projects.validation import RESERVED_ENV_KEYS
from nanoscale.strings import NO_CONTROL_BUT_TAB_NEWLINE, NO_CONTROL_CHARACTERS

SourceProvider = Literal["manual", "github"]
_MAX_ENV = 500

# The rules of `validation.py` as JSON Schema, so the OpenAPI description states exactly what
# is accepted (a `refuse` pattern lists what the allowed characters would still let through).
# The rules that depend on settings (allowed git hosts, the platform's own domains) are added
# to the description by `nanoscale.api.contract`.
NAME = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"  # a DNS label (stored lower case)
URL = r"^[^\x00-\x20\x7f]+$"  # no control characters, no spaces
BRANCH = r"^[^\x00-\x20\x7f~^:?*\[\\;&|$`'\"<>(){}!]{1,255}$"  # no git or shell specials
BRANCH_REFUSED = r"^-|^@$|^HEAD$|\.\.|@\{|^/|/$|//|\.$|(^|/)\.|\.lock(/|$)"
RELATIVE_PATH = r"^[^\x00-\x1f\x7f\\]*$"  # no control characters, no backslash
RELATIVE_PATH_REFUSED = r"^/|(^|/)\.\.(/|$)"
URL_PATH = r"^/[^\x00-\x20\x7f]*$"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = rf"^(?:(?:{_LABEL}\.)+{_LABEL}\.?| *)$"  # blank: no custom domain
# Over 253 characters without the final dot, or a numeric last label (an IP address).
HOSTNAME_REFUSED = r"^.{253}[^.]$|(^|\.)[0-9]+\.?$"
ENV_KEY = r"^[A-Za-z_][A-Za-z0-9_]*$"
ENV_VALUE = r"^[^\x00]*$"


def refuse(pattern: str) -> Callable[[dict[str, Any]], None]:
    """JSON Schema extra: a string matching `pattern` is refused (null stays allowed)."""

    def extra(schema: dict[str, Any]) -> None:
        schema["not"] = {"type": "string", "pattern": pattern}

    return extra


def documented(pattern: str) -> Callable[[dict[str, Any]], None]:
    """JSON Schema extra: the string must match `pattern`. Declared, not enforced here: the
    service applies the same rule (`validation.py`) and reports every field's problem at
    once, which a pydantic error would cut short."""

    def extra(schema: dict[str, Any]) -> None:
        for option in schema.get("anyOf", [schema]):
            if option.get("type", "string") == "string":
                option["pattern"] = pattern

    return extra


def both(*extras: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def extra(schema: dict[str, Any]) -> None:
        for one in extras:
            one(schema)

    return extra


def not_null(schema: dict[str, Any]) -> None:
    """JSON Schema extra: the field may be left out but not sent as null."""
    options = schema.pop("anyOf", None)
    if options:
        schema.update(next(o for o in options if o.get("type") != "null"))


def _env_vars(nullable_values: bool) -> Callable[[dict[str, Any]], None]:
    def extra(schema: dict[str, Any]) -> None:
        value: dict[str, Any] = {"type": "string", "maxLength": 32_768, "pattern": ENV_VALUE}
        object_schema = {
            "type": "object",
            "maxProperties": _MAX_ENV,
            "propertyNames": {
                "pattern": ENV_KEY,
                "maxLength": 256,
                "not": {"enum": sorted(RESERVED_ENV_KEYS)},
            },
            "additionalProperties": (
                {"anyOf": [value, {"type": "null"}]} if nullable_values else value
            ),
        }
        schema.pop("patternProperties", None)
        schema.pop("propertyNames", None)
        schema.pop("additionalProperties", None)
        schema.pop("maxProperties", None)
        if "anyOf" in schema:
            schema["anyOf"] = [object_schema, {"type": "null"}]
        else:
            schema.update(object_schema)

    return extra


def _git_password(schema: dict[str, Any]) -> None:
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "string":
            option["pattern"] = NO_CONTROL_CHARACTERS


def _manual_only(schema: dict[str, Any]) -> None:
    """Only the GitHub integration sets a GitHub source (after checking access); the API
    and the dashboard accept `manual` only."""
    schema.pop("anyOf", None)
    schema.update({"type": "string", "enum": ["manual"]})


def _github_only(schema: dict[str, Any]) -> None:
    """Set by the GitHub integration only: through the API it can only be null."""
    schema.clear()
    schema.update({"type": "null", "default": None})


# A Git password needs a username (an empty one means "no password").
_PASSWORD_NEEDS_USERNAME: dict[str, Any] = {
    "if": {
        "required": ["git_password"],
        "properties": {"git_password": {"type": "string", "minLength": 1}},
    },
    "then": {
        "required": ["git_username"],
        "properties": {"git_username": {"type": "string", "pattern": r"[^\s\x85]"}},
    },
}
# Exactly one source (the model validator says the same in words).
_CREATE_RULES: dict[str, Any] = {
    **_PASSWORD_NEEDS_USERNAME,
    "oneOf": [{"required": ["repo_url"]}, {"required": ["github_source"]}],
}
EnvKey = Annotated[str, StringConstraints(max_length=256)]  # ENV_KEY: see _env_vars
EnvValue = Annotated[str, StringConstraints(max_length=32_768)]


_GITHUB_ID = Field(ge=1, le=2**63 - 1)


class GitHubSource(BaseModel):
    """A repository picked through the GitHub integration (by GitHub's numeric ids)."""

    model_config = ConfigDict(extra="ignore")

    installation_id: int = _GITHUB_ID
    repo_id: int = _GITHUB_ID
    selected_branch: str | None = Field(default=None, max_length=255)  # default: repo's default


class ProjectCreate(BaseModel):
    """Exactly one source: a manual `repo_url`, or `github_source` (a repository picked through
    the GitHub integration). `source_provider`/`source_repo_id` are set only by the
    integration's trusted path; sent here as anything else than manual/null, they are refused."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_CREATE_RULES)

    name: str = Field(max_length=63, json_schema_extra=documented(NAME))
    repo_url: str | None = Field(default=None, max_length=2048, json_schema_extra=documented(URL))
    github_source: GitHubSource | None = None
    branch: str = Field(
        default="main",
        max_length=255,
        json_schema_extra=both(documented(BRANCH), refuse(BRANCH_REFUSED)),
    )
    root_directory: str = Field(
        default="",
        max_length=1024,
        json_schema_extra=both(documented(RELATIVE_PATH), refuse(RELATIVE_PATH_REFUSED)),
    )
    install_command: str | None = Field(
        default=None, max_length=4096, json_schema_extra=documented(NO_CONTROL_BUT_TAB_NEWLINE)
    )
    build_command: str | None = Field(
        default=None, max_length=4096, json_schema_extra=documented(NO_CONTROL_BUT_TAB_NEWLINE)
    )
    start_command: str | None = Field(
        default=None, max_length=4096, json_schema_extra=documented(NO_CONTROL_BUT_TAB_NEWLINE)
    )
    output_directory: str | None = Field(
        default=None,
        max_length=1024,
        json_schema_extra=both(documented(RELATIVE_PATH), refuse(RELATIVE_PATH_REFUSED)),
    )
    health_check_path: str = Field(
        default="/", max_length=1024, json_schema_extra=documented(URL_PATH)
    )
    env_vars: dict[EnvKey, EnvValue] = Field(
        default_factory=dict, max_length=_MAX_ENV, json_schema_extra=_env_vars(False)
    )
    git_username: str | None = Field(
        default=None, max_length=255, json_schema_extra=documented(NO_CONTROL_CHARACTERS)
    )
    git_password: SecretStr | None = Field(
        default=None, max_length=1024, json_schema_extra=_git_password
    )
    domain: str | None = Field(
        default=None,
        max_length=254,
        json_schema_extra=both(documented(HOSTNAME), refuse(HOSTNAME_REFUSED)),
    )
    source_provider: SourceProvider = Field(default="manual", json_schema_extra=_manual_only)
    source_repo_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, json_schema_extra=_github_only
    )

    @model_validator(mode="after")
    def _one_source(self) -> ProjectCreate:
        if (self.repo_url is None) == (self.github_source is None):
            raise ValueError(
                "give exactly one source: repo_url (any allowed Git host) or github_source "
                "(a repository picked through the GitHub integration)"
            )
        return self


class ProjectUpdate(BaseModel):
    """Only the fields present are changed. `env_vars` is a merge patch: a key set to null
    is removed, other keys are set; `git_password: null` removes the stored credential."""

    model_config = ConfigDict(extra="ignore")

    # The name is fixed: only the current one passes.
    name: str | None = Field(
        default=None, max_length=63, json_schema_extra=both(documented(NAME), not_null)
    )
    repo_url: str | None = Field(
        default=None, max_length=2048, json_schema_extra=both(documented(URL), not_null)
    )
    branch: str | None = Field(
        default=None,
        max_length=255,
        pattern=BRANCH,
        json_schema_extra=both(not_null, refuse(BRANCH_REFUSED)),
    )
    root_directory: str | None = Field(
        default=None,
        max_length=1024,
        pattern=RELATIVE_PATH,
        json_schema_extra=both(not_null, refuse(RELATIVE_PATH_REFUSED)),
    )
    install_command: str | None = Field(
        default=None, max_length=4096, json_schema_extra=documented(NO_CONTROL_BUT_TAB_NEWLINE)
    )
    build_command: str | None = Field(
        default=None, max_length=4096, json_schema_extra=documented(NO_CONTROL_BUT_TAB_NEWLINE)
    )
    start_command: str | None = Field(
        default=None, max_length=4096, json_schema_extra=documented(NO_CONTROL_BUT_TAB_NEWLINE)
    )
    output_directory: str | None = Field(
        default=None,
        max_length=1024,
        json_schema_extra=both(documented(RELATIVE_PATH), refuse(RELATIVE_PATH_REFUSED)),
    )
    health_check_path: str | None = Field(
        default=None, max_length=1024, json_schema_extra=both(documented(URL_PATH), not_null)
    )
    env_vars: dict[EnvKey, EnvValue | None] | None = Field(
        default=None, max_length=_MAX_ENV, json_schema_extra=_env_vars(True)
    )
    git_username: str | None = Field(
        default=None, max_length=255, json_schema_extra=documented(NO_CONTROL_CHARACTERS)
    )
    git_password: SecretStr | None = Field(
        default=None, max_length=1024, json_schema_extra=_git_password
    )
    domain: str | None = Field(
        default=None,
        max_length=254,
        json_schema_extra=both(documented(HOSTNAME), refuse(HOSTNAME_REFUSED)),
    )
    source_provider: SourceProvider | None = Field(default=None, json_schema_extra=_manual_only)
    source_repo_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, json_schema_extra=_github_only
    )
