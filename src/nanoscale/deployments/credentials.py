"""Which Git credential a project's fetches use, chosen by the project's `source_provider`.

`manual`: the project's stored username and password (decrypted only here, at fetch time).
Other providers are registered explicitly by the code that assembles the application
(`nanoscale.app.create_app` registers `github`, the GitHub integration's installation tokens),
so this package never imports them. A provider without a registered source is an error, never
a silent fallback to another provider's credentials. Every source returns a
`CredentialProvider`, which the engine hands to git through the environment only.
"""

from __future__ import annotations

from collections.abc import Callable

from nanoscale.context import AppContext
from nanoscale.engine.credentials import (
    CredentialProvider,
    GitCredentials,
    HostCredentials,
    NoCredentials,
)
from nanoscale.errors import PlatformError
from nanoscale.projects.models import Project
from nanoscale.projects.secrets import read_git_credential

CredentialSource = Callable[[Project, AppContext], CredentialProvider]


def stored_credentials(project: Project, ctx: AppContext) -> CredentialProvider:
    stored = read_git_credential(project, keyring=ctx.keyring)
    if stored is None:
        return NoCredentials()
    username, password = stored
    return HostCredentials(project.repo_url, GitCredentials(username, password))


CREDENTIAL_SOURCES: dict[str, CredentialSource] = {"manual": stored_credentials}


def register_credential_source(provider: str, source: CredentialSource) -> None:
    CREDENTIAL_SOURCES[provider] = source


def project_credentials(project: Project, *, ctx: AppContext) -> CredentialProvider:
    source = CREDENTIAL_SOURCES.get(project.source_provider)
    if source is None:
        raise PlatformError(
            f"no Git credential source for provider {project.source_provider!r}",
            code="credential_source_unknown",
        )
    return source(project, ctx)
