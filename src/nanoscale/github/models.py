"""GitHub integration tables (plan §5.1, with one deviation: see docs/github.md).

An installation has no single owner: an organization's installation is shared by every
NanoScale user whose own GitHub token can reach it, recorded in `github_installation_access`.
Likewise a repository's metadata is cached once (`github_repositories`) and which user may pick
it is recorded per user in `github_repository_access`, as GitHub's
`GET /user/installations/{id}/repositories` answered for that user's token.

Every token and secret column holds `KeyRing` ciphertexts bound to its row and is registered
for `nanoscale keys rotate`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from nanoscale.db.base import Base, UTCDateTime, new_id, utcnow
from nanoscale.keys import register_encrypted_column

ACCESS_TOKEN_CONTEXT = "github_user_links.access_token:{id}"  # noqa: S105 - context labels
REFRESH_TOKEN_CONTEXT = "github_user_links.refresh_token:{id}"  # noqa: S105
VERIFIER_CONTEXT = "github_oauth_states.verifier:{id}"
WEBHOOK_SECRET_CONTEXT = "project_github_links.webhook_secret:{id}"  # noqa: S105
ALTERNATE_SECRET_CONTEXT = "project_github_links.alternate_secret:{id}"  # noqa: S105


class GitHubUserLink(Base):
    """One GitHub account per NanoScale user and vice versa."""

    __tablename__ = "github_user_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    local_user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    github_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    github_login: Mapped[str] = mapped_column(String(255))
    # `avatar_url` of `GET /user`; shown only when on the configured GitHub's avatar origin.
    avatar_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reconnect_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class GitHubOAuthState(Base):
    """A pending authorize round trip: random state (stored hashed), single use, 10 minutes."""

    __tablename__ = "github_oauth_states"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    local_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    verifier_encrypted: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GitHubInstallation(Base):
    __tablename__ = "github_installations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    installation_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    account_login: Mapped[str] = mapped_column(String(255))
    account_type: Mapped[str] = mapped_column(String(32))  # User | Organization
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int] = mapped_column(BigInteger)
    repository_selection: Mapped[str] = mapped_column(String(16), default="all")
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    # As GitHub last listed them (`permissions` of the installation); None until then.
    permissions: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class GitHubInstallationAccess(Base):
    """User U may use installation I: U's own GitHub token listed I when last checked."""

    __tablename__ = "github_installation_access"
    __table_args__ = (UniqueConstraint("local_user_id", "installation_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    local_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    installation_id: Mapped[int] = mapped_column(
        ForeignKey(
            "github_installations.installation_id",
            ondelete="CASCADE",
            name="fk_github_installation_access_installation",  # the default exceeds 63 chars
        ),
        index=True,
    )
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GitHubRepository(Base):
    __tablename__ = "github_repositories"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    installation_id: Mapped[int] = mapped_column(BigInteger, index=True)
    repo_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    node_id: Mapped[str] = mapped_column(String(255))
    owner_login: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(511), index=True)
    default_branch: Mapped[str] = mapped_column(String(255))
    is_private: Mapped[bool] = mapped_column(Boolean)
    html_url: Mapped[str] = mapped_column(String(2048))
    clone_url: Mapped[str] = mapped_column(String(2048))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GitHubRepositoryAccess(Base):
    """User U may pick repository R (through installation I), as of U's last sync of I."""

    __tablename__ = "github_repository_access"
    __table_args__ = (
        UniqueConstraint("local_user_id", "repo_id"),
        Index("ix_github_repository_access_user_installation", "local_user_id", "installation_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    local_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    installation_id: Mapped[int] = mapped_column(BigInteger)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("github_repositories.repo_id", ondelete="CASCADE")
    )


class GitHubRepoSync(Base):
    """Per (user, installation): the ETag of each listing page, for conditional re-syncs."""

    __tablename__ = "github_repo_syncs"
    __table_args__ = (UniqueConstraint("local_user_id", "installation_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    local_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    installation_id: Mapped[int] = mapped_column(BigInteger)
    page_etags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectGitHubLink(Base):
    __tablename__ = "project_github_links"
    __table_args__ = (Index("ix_project_github_links_repo_branch", "repo_id", "selected_branch"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), unique=True
    )
    installation_id: Mapped[int] = mapped_column(BigInteger)
    repo_id: Mapped[int] = mapped_column(BigInteger)
    repo_node_id: Mapped[str] = mapped_column(String(255))
    owner_login: Mapped[str] = mapped_column(String(255))
    repo_name: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(511))
    default_branch: Mapped[str] = mapped_column(String(255))
    selected_branch: Mapped[str] = mapped_column(String(255))
    webhook_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    webhook_secret_encrypted: Mapped[str] = mapped_column(Text)
    webhook_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # During a hook secret rotation (github/hook_rotation.py): one more secret that may sign
    # this hook's deliveries, until the given time.
    alternate_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    alternate_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The reconciler (github/reconciler.py): ETags of its last reads ("repo", "head", "hook"),
    # so an unchanged answer is a free 304; the branch head it saw; when and how it ended.
    reconcile_etags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    head_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    check_result: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class GitHubLock(Base):
    """A named lease held across GitHub calls (never a transaction): `reconciler` (one serve
    process reconciles at a time) and `hook:<repo_id>` (one writer of a repository's hook
    and its secret at a time). It expires, so a holder that died frees it."""

    __tablename__ = "github_locks"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GitHubWebhookDelivery(Base):
    """One row per (delivery GUID, hook): GitHub gives every hook of one event the same GUID.

    `handled` is set only once processing finished, so GitHub's Redeliver of a delivery whose
    processing failed is processed again, and of one that succeeded is a no-op."""

    __tablename__ = "github_webhook_deliveries"
    __table_args__ = (UniqueConstraint("delivery_id", "hook_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    delivery_id: Mapped[str] = mapped_column(String(64))
    hook_id: Mapped[int] = mapped_column(BigInteger, default=0)  # 0: header absent
    source: Mapped[str] = mapped_column(String(16))  # app | repository
    event_type: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64), nullable=True)
    repo_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    before_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    head_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)  # `after`
    handled: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # outcome "duplicate": the GUID of the delivery that already requested this push
    duplicate_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    deployment_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status_code: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # GitHub's Redeliver of an already handled delivery (same GUID, same hook): a no-op, counted
    # so the Deliveries tab shows that the redelivery arrived.
    redeliveries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_redelivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _ctx(template: str) -> Any:
    return lambda row: template.format(id=row["id"])


register_encrypted_column("github_user_links", "access_token_encrypted", _ctx(ACCESS_TOKEN_CONTEXT))
register_encrypted_column(
    "github_user_links", "refresh_token_encrypted", _ctx(REFRESH_TOKEN_CONTEXT)
)
register_encrypted_column("github_oauth_states", "verifier_encrypted", _ctx(VERIFIER_CONTEXT))
register_encrypted_column(
    "project_github_links", "webhook_secret_encrypted", _ctx(WEBHOOK_SECRET_CONTEXT)
)
register_encrypted_column(
    "project_github_links", "alternate_secret_encrypted", _ctx(ALTERNATE_SECRET_CONTEXT)
)
