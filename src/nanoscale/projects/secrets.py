"""A project's encrypted values: env vars (one JSON object) and the optional Git password."""

from __future__ import annotations

import json

from nanoscale.crypto import KeyRing
from nanoscale.projects.models import ENV_VARS_CONTEXT, GIT_PASSWORD_CONTEXT, Project


def read_env_vars(project: Project, *, keyring: KeyRing) -> dict[str, str]:
    """The decrypted env vars, for the engine (never for API responses)."""
    if not project.env_vars_encrypted:
        return {}
    plain = keyring.decrypt(
        project.env_vars_encrypted, context=ENV_VARS_CONTEXT.format(id=project.id)
    )
    data: dict[str, str] = json.loads(plain)
    return data


def write_env_vars(project: Project, env: dict[str, str], *, keyring: KeyRing) -> None:
    project.env_vars_encrypted = (
        keyring.encrypt(
            json.dumps(env, sort_keys=True), context=ENV_VARS_CONTEXT.format(id=project.id)
        )
        if env
        else None
    )


def env_var_keys(project: Project, *, keyring: KeyRing) -> list[str]:
    return sorted(read_env_vars(project, keyring=keyring))


def read_git_credential(project: Project, *, keyring: KeyRing) -> tuple[str, str] | None:
    """(username, password) for cloning a private manual repository, or None."""
    if not project.git_password_encrypted or not project.git_username:
        return None
    password = keyring.decrypt(
        project.git_password_encrypted, context=GIT_PASSWORD_CONTEXT.format(id=project.id)
    )
    return project.git_username, password


def write_git_password(project: Project, password: str | None, *, keyring: KeyRing) -> None:
    project.git_password_encrypted = (
        keyring.encrypt(password, context=GIT_PASSWORD_CONTEXT.format(id=project.id))
        if password
        else None
    )
