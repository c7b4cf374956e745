"""Typed input for project create/update, shared by the JSON API and the dashboard.

These models check shapes and sizes; the service applies the semantic rules in
`validation.py` (some depend on settings) and raises `InvalidInput` naming the field.
Unknown fields are ignored, so older clients keep working when fields are added.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.json_schema import SkipJsonSchema

SourceProvider = Literal["manual", "github"]
_MAX_ENV = 500


_GITHUB_ID = Field(ge=1, le=2**63 - 1)


class GitHubSource(BaseModel):
    """A repository picked through the GitHub integration (by GitHub's numeric ids)."""

    model_config = ConfigDict(extra="ignore")

    installation_id: int = _GITHUB_ID
    repo_id: int = _GITHUB_ID
    selected_branch: str | None = Field(default=None, max_length=255)  # default: repo's default


class ProjectCreate(BaseModel):
    """Exactly one source: a manual `repo_url`, or `github_source`.

    `source_provider`/`source_repo_id` are not part of the published schema: only the GitHub
    integration sets them (through its trusted path); sent here, they are refused."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(max_length=63)
    repo_url: str | None = Field(default=None, max_length=2048)
    github_source: GitHubSource | None = None
    branch: str = Field(default="main", max_length=255)
    root_directory: str = Field(default="", max_length=1024)
    install_command: str | None = Field(default=None, max_length=4096)
    build_command: str | None = Field(default=None, max_length=4096)
    start_command: str | None = Field(default=None, max_length=4096)
    output_directory: str | None = Field(default=None, max_length=1024)
    health_check_path: str = Field(default="/", max_length=1024)
    env_vars: dict[str, str] = Field(default_factory=dict, max_length=_MAX_ENV)
    git_username: str | None = Field(default=None, max_length=255)
    git_password: SecretStr | None = Field(default=None, max_length=1024)
    domain: str | None = Field(default=None, max_length=253)
    source_provider: SkipJsonSchema[SourceProvider] = "manual"
    source_repo_id: SkipJsonSchema[int | None] = Field(default=None, ge=1, le=2**63 - 1)

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

    name: str | None = Field(default=None, max_length=63)  # fixed: only the current name passes
    repo_url: str | None = Field(default=None, max_length=2048)
    branch: str | None = Field(default=None, max_length=255)
    root_directory: str | None = Field(default=None, max_length=1024)
    install_command: str | None = Field(default=None, max_length=4096)
    build_command: str | None = Field(default=None, max_length=4096)
    start_command: str | None = Field(default=None, max_length=4096)
    output_directory: str | None = Field(default=None, max_length=1024)
    health_check_path: str | None = Field(default=None, max_length=1024)
    env_vars: dict[str, str | None] | None = Field(default=None, max_length=_MAX_ENV)
    git_username: str | None = Field(default=None, max_length=255)
    git_password: SecretStr | None = Field(default=None, max_length=1024)
    domain: str | None = Field(default=None, max_length=253)
    source_provider: SkipJsonSchema[SourceProvider | None] = None
    source_repo_id: SkipJsonSchema[int | None] = Field(default=None, ge=1, le=2**63 - 1)
