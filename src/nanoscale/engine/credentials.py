"""Git credentials handed to the engine by its caller, never stored by the engine.

A provider answers "which username/password for this URL?" (or None). Manual projects use
`HostCredentials` (their encrypted git_username/git_password, for their own host only);
GitHub installation tokens plug in through the same Protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit


@dataclass(frozen=True)
class GitCredentials:
    username: str
    password: str = field(repr=False)


class CredentialProvider(Protocol):
    def credentials_for(self, url: str) -> GitCredentials | None: ...


class NoCredentials:
    def credentials_for(self, url: str) -> GitCredentials | None:
        return None


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True)
class HostCredentials:
    """One credential for every repository on the origin (scheme, host, port) of `repo_url`,
    so submodules on the same host authenticate too and other hosts never see it."""

    repo_url: str
    credentials: GitCredentials

    def credentials_for(self, url: str) -> GitCredentials | None:
        return self.credentials if origin_of(url) == origin_of(self.repo_url) else None
