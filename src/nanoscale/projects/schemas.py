"""Typed input for project create/update, shared by the JSON API and the dashboard.

These models check shapes and sizes; the service applies the semantic rules in
`validation.py` (some depend on settings) and raises `InvalidInput` naming the field.
Unknown fields are ignored, so older clients keep working when fields are added.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

SourceProvider = Literal["manual", "github"]
_MAX_ENV = 500


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(max_length=63)
    repo_url: str = Field(max_length=2048)
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
    source_provider: SourceProvider = "manual"
    source_repo_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


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
    source_provider: SourceProvider | None = None
    source_repo_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
