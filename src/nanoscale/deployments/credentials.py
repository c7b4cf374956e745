"""Which Git credential a project's fetches use, chosen by the project's `source_provider`.

Manual projects: their stored username and password (decrypted only here, at fetch time).
Other providers register a factory in `CREDENTIAL_SOURCES` (the GitHub integration registers
`"github"`, minting installation tokens); every one returns a `CredentialProvider`, which the
engine hands to git through the environment only.
"""

from __future__ import annotations

from collections.abc import Callable

from nanoscale.crypto import KeyRing
from nanoscale.engine.credentials import (
    CredentialProvider,
    GitCredentials,
    HostCredentials,
    NoCredentials,
)
from nanoscale.projects.models import Project
from nanoscale.projects.secrets import read_git_credential

CredentialSource = Callable[[Project, KeyRing], CredentialProvider]


def stored_credentials(project: Project, keyring: KeyRing) -> CredentialProvider:
    stored = read_git_credential(project, keyring=keyring)
    if stored is None:
        return NoCredentials()
    username, password = stored
    return HostCredentials(project.repo_url, GitCredentials(username, password))


CREDENTIAL_SOURCES: dict[str, CredentialSource] = {"manual": stored_credentials}


def project_credentials(project: Project, *, keyring: KeyRing) -> CredentialProvider:
    source = CREDENTIAL_SOURCES.get(project.source_provider, stored_credentials)
    return source(project, keyring)
