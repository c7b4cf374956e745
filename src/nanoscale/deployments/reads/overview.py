"""What the dashboard's overview shows of deployments: project counts by status and the
latest deployments across the user's projects (the health panel is `nanoscale.system_health`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.reads.status import overview_counts, project_summaries
from nanoscale.projects.models import Project

FEED_SIZE = 10


@dataclass(frozen=True)
class FeedItem:
    deployment: Deployment
    project_name: str


@dataclass(frozen=True)
class Overview:
    counts: dict[str, int]  # live, building, failed, stopped, total
    feed: list[FeedItem]  # newest first


def recent_deployments(
    session: Session, *, projects: Sequence[Project], limit: int = FEED_SIZE
) -> list[FeedItem]:
    """The newest `limit` deployments of `projects`, in one query."""
    if not projects:
        return []
    names = {p.id: p.name for p in projects}
    rows = session.scalars(
        select(Deployment)
        .where(Deployment.project_id.in_(names))
        .order_by(Deployment.queued_at.desc(), Deployment.id.desc())
        .limit(limit)
    )
    return [FeedItem(d, names[d.project_id]) for d in rows]


def overview(session: Session, *, user: User, ctx: AppContext) -> Overview:
    summaries = project_summaries(session, user=user, ctx=ctx)
    feed = recent_deployments(session, projects=[s.project for s in summaries])
    return Overview(counts=overview_counts(summaries), feed=feed)
