"""Which Git credential a project's fetches use. Manual projects: their stored username and
password (decrypted only here, at fetch time). GitHub projects will plug in installation
tokens through the same `CredentialProvider` Protocol."""

from __future__ import annotations

from nanoscale.crypto import KeyRing
from nanoscale.engine.credentials import (
    CredentialProvider,
    GitCredentials,
    HostCredentials,
    NoCredentials,
)
from nanoscale.projects.models import Project
from nanoscale.projects.secrets import read_git_credential


def project_credentials(project: Project, *, keyring: KeyRing) -> CredentialProvider:
    stored = read_git_credential(project, keyring=keyring)
    if stored is None:
        return NoCredentials()
    username, password = stored
    return HostCredentials(project.repo_url, GitCredentials(username, password))
