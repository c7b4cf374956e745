"""Deployment records, their log chunks, and the per-project lease (one deployment at a time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from nanoscale.db.base import Base, UTCDateTime, new_id, utcnow
from nanoscale.deployments.states import DeploymentState


class Deployment(Base):
    __tablename__ = "deployments"
    # `active_sha` equals commit_sha while the deployment is queued or running and is NULL after,
    # so the database itself refuses a second active deployment of one commit (idempotency).
    __table_args__ = (UniqueConstraint("project_id", "active_sha"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    commit_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    trigger: Mapped[str] = mapped_column(String(16))
    correlation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Read from the fetched commit itself (never from a request): subject line and author.
    commit_message: Mapped[str | None] = mapped_column(String(200), nullable=True)
    commit_author: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=DeploymentState.QUEUED.value, index=True)
    cancel_requested: Mapped[bool] = mapped_column(default=False)

    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fetching_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    building_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    starting_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_responsibility: Mapped[str | None] = mapped_column(String(16), nullable=True)

    # The build's process group while it runs, so a restarted orchestrator can kill leftovers.
    build_pgid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The release this deployment started (runtime handle); `release_stopped_at` once retired.
    release_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    release_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    release_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# The column recording when a deployment entered each state (the final states share one).
STATE_ENTERED_AT: dict[DeploymentState, InstrumentedAttribute[datetime | None]] = {
    DeploymentState.FETCHING: Deployment.fetching_at,
    DeploymentState.BUILDING: Deployment.building_at,
    DeploymentState.STARTING: Deployment.starting_at,
    DeploymentState.LIVE: Deployment.finished_at,
    DeploymentState.FAILED: Deployment.finished_at,
    DeploymentState.CANCELLED: Deployment.finished_at,
    DeploymentState.SUPERSEDED: Deployment.finished_at,
}


class DeploymentLogChunk(Base):
    """Append-only log: readers poll `id > last_seen` to stream while the deployment runs."""

    __tablename__ = "deployment_log_chunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)


class ProjectLease(Base):
    """Held by the worker running a project's deployment; expires unless heartbeats renew it."""

    __tablename__ = "project_leases"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str] = mapped_column(String(128))
    deployment_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
