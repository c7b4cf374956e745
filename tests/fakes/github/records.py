"""Records beside the world: commit statuses, deployments, App manifest codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import Account, App


@dataclass(eq=False)
class CommitStatus:
    id: int
    repo_id: int
    sha: str
    state: str  # error | failure | pending | success
    context: str
    target_url: str | None
    description: str | None
    creator: Account | None  # None: the App's bot (`app`)
    app: App | None
    created_at: datetime
    updated_at: datetime


@dataclass(eq=False)
class DeploymentStatus:
    id: int
    state: str
    description: str
    environment: str
    target_url: str
    log_url: str
    environment_url: str
    creator: Account | None
    app: App | None
    created_at: datetime
    updated_at: datetime


@dataclass(eq=False)
class Deployment:
    id: int
    repo_id: int
    sha: str
    ref: str
    task: str
    environment: str
    description: str | None
    payload: dict[str, Any] | str
    transient_environment: bool
    production_environment: bool
    creator: Account | None
    app: App | None
    created_at: datetime
    updated_at: datetime
    statuses: list[DeploymentStatus] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.statuses[-1].state if self.statuses else "pending"


@dataclass(eq=False)
class ManifestCode:
    """The code an App manifest registration hands back; converted once, within an hour."""

    code: str
    app: App
    expires_at: datetime
    used: bool = False
