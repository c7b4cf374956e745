"""The GitHub App registered from a manifest (github/manifest.py), and pending manifest states.

At most one registration (`id = "app"`); its secrets are `KeyRing` ciphertexts bound to the row
and re-encrypted by `nanoscale keys rotate`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nanoscale.db.base import Base, UTCDateTime, new_id, utcnow
from nanoscale.keys import register_encrypted_column

REGISTRATION_ID = "app"
CLIENT_SECRET_CONTEXT = "github_app_registrations.client_secret:{id}"  # noqa: S105
WEBHOOK_SECRET_CONTEXT = "github_app_registrations.webhook_secret:{id}"  # noqa: S105
PRIVATE_KEY_CONTEXT = "github_app_registrations.private_key:{id}"


class GitHubAppRegistration(Base):
    __tablename__ = "github_app_registrations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=REGISTRATION_ID)
    github_app_id: Mapped[int] = mapped_column(BigInteger)
    slug: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    html_url: Mapped[str] = mapped_column(String(1024))
    client_secret_encrypted: Mapped[str] = mapped_column(Text)
    webhook_secret_encrypted: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GitHubManifestState(Base):
    """A pending "Create GitHub App" round trip: random state (stored hashed), single use."""

    __tablename__ = "github_manifest_states"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    local_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def _ctx(template: str) -> Any:
    return lambda row: template.format(id=row["id"])


for _column, _template in (
    ("client_secret_encrypted", CLIENT_SECRET_CONTEXT),
    ("webhook_secret_encrypted", WEBHOOK_SECRET_CONTEXT),
    ("private_key_encrypted", PRIVATE_KEY_CONTEXT),
):
    register_encrypted_column("github_app_registrations", _column, _ctx(_template))
