"""Credentials the simulator hands out: installation tokens, user tokens, refresh tokens and
OAuth authorization codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import Account, App, Installation


@dataclass(eq=False)
class InstallationToken:
    token: str
    installation: Installation
    expires_at: datetime
    repo_ids: set[int] | None  # None: every repository of the installation
    permissions: dict[str, str]
    revoked: bool = False


@dataclass(eq=False)
class UserToken:
    token: str
    user: Account
    app: App
    expires_at: datetime
    revoked: bool = False


@dataclass(eq=False)
class RefreshToken:
    token: str
    user: Account
    app: App
    expires_at: datetime
    access_token: str  # the access token issued with it; refreshing revokes both
    used: bool = False


@dataclass(eq=False)
class AuthCode:
    code: str
    app: App
    user: Account
    redirect_uri: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: datetime
    used: bool = False
