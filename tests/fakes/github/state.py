"""The simulator's world: explicit in-memory records; no behaviour beyond lookups and access."""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from .records import CommitStatus, Deployment, ManifestCode
from .tokens import AuthCode, InstallationToken, RefreshToken, UserToken

AccountType = Literal["User", "Organization"]
PERMISSION_RANK = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}


class SimClock:
    """Real time plus an offset, so tests can expire tokens without sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.frozen: datetime | None = None

    def now(self) -> datetime:
        base = self.frozen or datetime.now(UTC).replace(microsecond=0)
        return base + self.offset

    def freeze(self) -> None:
        """Stop real time (only `advance` moves the clock), for exact expiry tests."""
        self.frozen = datetime.now(UTC).replace(microsecond=0)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(eq=False)
class Account:
    id: int
    login: str
    type: AccountType
    name: str
    email: str | None
    created_at: datetime
    members: dict[int, str] = field(default_factory=dict)  # org only: user id -> admin|member
    base_permission: str = "none"  # org only: what members get on every org repository

    @property
    def node_id(self) -> str:
        return node_id(self.type, self.id)


@dataclass(eq=False)
class Hook:
    id: int
    repo_id: int
    url: str
    secret: str
    content_type: str
    insecure_ssl: str
    events: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime
    last_response: dict[str, object] = field(
        default_factory=lambda: {"code": None, "status": "unused", "message": None}
    )


@dataclass(eq=False)
class Repository:
    id: int
    owner: Account
    name: str
    private: bool
    description: str | None
    default_branch: str
    path: Path  # bare repository, named by id so renames and transfers never move it
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime
    archived: bool = False
    deleted: bool = False
    collaborators: dict[int, str] = field(default_factory=dict)  # user id -> permission
    hooks: dict[int, Hook] = field(default_factory=dict)
    former_names: list[str] = field(default_factory=list)  # "owner/name" before renames

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    @property
    def node_id(self) -> str:
        return node_id("Repository", self.id)


@dataclass(eq=False)
class App:
    id: int
    slug: str
    name: str
    owner: Account
    client_id: str
    client_secret: str
    webhook_secret: str
    webhook_url: str | None
    private_key_pem: bytes
    public_key_pem: bytes
    permissions: dict[str, str]
    events: list[str]
    callback_urls: list[str]
    setup_url: str | None
    created_at: datetime
    hook_id: int
    webhook_active: bool = True
    webhook_content_type: str = "json"
    webhook_insecure_ssl: str = "0"
    description: str = "NanoScale deploys your repositories."
    external_url: str | None = None
    request_oauth_on_install: bool = False  # "Request user authorization during installation"
    setup_on_update: bool = False  # "Redirect on update": setup URL after changing repositories


@dataclass(eq=False)
class Installation:
    id: int
    app: App
    account: Account
    repository_selection: Literal["all", "selected"]
    repo_ids: set[int]
    permissions: dict[str, str]
    events: list[str]
    created_at: datetime
    updated_at: datetime
    suspended_at: datetime | None = None
    suspended_by: Account | None = None
    deleted: bool = False


@dataclass(eq=False)
class Delivery:
    id: int
    guid: str
    event: str
    action: str | None
    hook_id: int
    target_type: str  # "integration" (the App's webhook) or "repository"
    target_id: int
    installation_id: int | None
    repository_id: int | None
    url: str
    secret: str
    content_type: str
    payload: dict[str, object]
    redelivery: bool = False
    delivered_at: datetime | None = None
    duration: float = 0.0
    status: str = "pending"
    status_code: int = 0
    request_headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None


@dataclass
class SimState:
    root: Path
    base_url: str = "http://github.localhost"
    clock: SimClock = field(default_factory=SimClock)
    lock: threading.RLock = field(default_factory=threading.RLock)
    accounts: dict[int, Account] = field(default_factory=dict)
    repos: dict[int, Repository] = field(default_factory=dict)
    apps: dict[int, App] = field(default_factory=dict)
    installations: dict[int, Installation] = field(default_factory=dict)
    installation_tokens: dict[str, InstallationToken] = field(default_factory=dict)
    user_tokens: dict[str, UserToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    auth_codes: dict[str, AuthCode] = field(default_factory=dict)
    manifest_codes: dict[str, ManifestCode] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    commit_statuses: list[CommitStatus] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self, base: int) -> int:
        """Ids differ per kind (base) and never repeat, like GitHub's."""
        return base + next(self._ids)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v3"

    def account(self, login: str) -> Account | None:
        lowered = login.lower()
        return next((a for a in self.accounts.values() if a.login.lower() == lowered), None)

    def repo(self, owner: str, name: str) -> Repository | None:
        full = f"{owner}/{name}".lower()
        live = (r for r in self.repos.values() if not r.deleted)
        return next((r for r in live if r.full_name.lower() == full), None)

    def renamed_repo(self, owner: str, name: str) -> Repository | None:
        full = f"{owner}/{name}".lower()
        live = (r for r in self.repos.values() if not r.deleted)
        return next((r for r in live if full in (f.lower() for f in r.former_names)), None)

    def live_installations(self) -> list[Installation]:
        return [i for i in self.installations.values() if not i.deleted]

    def installation_repos(self, inst: Installation) -> list[Repository]:
        live = [r for r in self.repos.values() if not r.deleted and r.owner is inst.account]
        if inst.repository_selection == "selected":
            live = [r for r in live if r.id in inst.repo_ids]
        return sorted(live, key=lambda r: r.id)

    def installations_for_repo(self, repo: Repository) -> list[Installation]:
        return [i for i in self.live_installations() if repo in self.installation_repos(i)]

    def user_permission(self, user: Account, repo: Repository) -> str:
        """The user's explicit permission: owner, collaborator, or organization role."""
        if repo.owner is user:
            return "admin"
        best = repo.collaborators.get(user.id, "none")
        role = repo.owner.members.get(user.id)
        if role == "admin":
            best = "admin"
        elif (
            role == "member" and PERMISSION_RANK[repo.owner.base_permission] > PERMISSION_RANK[best]
        ):
            best = repo.owner.base_permission
        return best

    def user_can_read(self, user: Account, repo: Repository) -> bool:
        return not repo.private or self.user_permission(user, repo) != "none"

    def user_orgs(self, user: Account) -> list[Account]:
        return [a for a in self.accounts.values() if user.id in a.members]
