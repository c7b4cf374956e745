"""The `projects` table (plan §5.2: `repo_url`, `source_provider`, `source_repo_id`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nanoscale.db.base import Base, UTCDateTime, new_id, utcnow
from nanoscale.keys import register_encrypted_column

ENV_VARS_CONTEXT = "projects.env_vars:{id}"
GIT_PASSWORD_CONTEXT = "projects.git_password:{id}"  # noqa: S105 - a context label


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    source_provider: Mapped[str] = mapped_column(String(16), default="manual")
    source_repo_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    repo_url: Mapped[str] = mapped_column(String(2048))
    branch: Mapped[str] = mapped_column(String(255), default="main")
    root_directory: Mapped[str] = mapped_column(String(1024), default="")
    install_command: Mapped[str | None] = mapped_column(Text, nullable=True)
    build_command: Mapped[str | None] = mapped_column(Text, nullable=True)
    start_command: Mapped[str | None] = mapped_column(Text, nullable=True)
    output_directory: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    health_check_path: Mapped[str] = mapped_column(String(1024), default="/")
    # JSON object {KEY: value}, encrypted as one value (context "projects.env_vars:<id>").
    env_vars_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    git_username: Mapped[str | None] = mapped_column(String(255), nullable=True)
    git_password_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    domain: Mapped[str | None] = mapped_column(String(253), unique=True, nullable=True)
    port: Mapped[int] = mapped_column(Integer, unique=True)  # allocated from the port range
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


register_encrypted_column(
    "projects", "env_vars_encrypted", lambda row: ENV_VARS_CONTEXT.format(id=row["id"])
)
register_encrypted_column(
    "projects", "git_password_encrypted", lambda row: GIT_PASSWORD_CONTEXT.format(id=row["id"])
)


class GitHost(Base):
    """A Git host an admin allowed from the dashboard, on top of NANOSCALE_GIT_ALLOWED_HOSTS
    (`projects/git_hosts.py`)."""

    __tablename__ = "git_hosts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    host: Mapped[str] = mapped_column(String(260), unique=True)  # host or host:port, lowercase
    added_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # a username
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
