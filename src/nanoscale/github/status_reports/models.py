"""One row per deployment of a GitHub-linked project: how it is reported and how far.

`mode` is fixed when the row is made (from the installation's permissions then), so a
deployment is never reported half as a Deployment and half as a commit status. `done` rows are
never looked at again: a final state was reported, reporting is off, or it was given up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nanoscale.db.base import Base, UTCDateTime, utcnow


class GitHubStatusReport(Base):
    __tablename__ = "github_status_reports"

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(16))  # deployments | statuses | none
    github_deployment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reported_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    done: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
