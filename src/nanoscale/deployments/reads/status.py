"""A project's status and URL, derived from its deployment records (never stored).

building  a deployment is queued or running
live      a release is serving (even if a later deployment failed)
failed    nothing serves and the latest deployment failed
stopped   nothing serves (never deployed, or every release was stopped)

Lists (`project_summaries`) read the deployments of all their projects at once: a fixed
number of queries however many projects there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.deployments.backends import backends_for
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.releases import current_release, hosts_for
from nanoscale.deployments.states import ACTIVE_STATES, DeploymentState
from nanoscale.engine.proxy.base import Proxy, Route
from nanoscale.projects.models import Project
from nanoscale.projects.service import list_projects
from nanoscale.settings import Settings


class ProjectStatus(StrEnum):
    LIVE = "live"
    BUILDING = "building"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ProjectSummary:
    project: Project
    status: ProjectStatus
    url: str | None
    latest: Deployment | None  # the newest deployment, whatever its state


@dataclass(frozen=True)
class _Records:
    """What the statuses of a set of projects are derived from, read in four queries."""

    active: set[str]  # project ids with a queued or running deployment
    serving: dict[str, Deployment]  # project id -> its current release
    last_outcome: dict[str, str]  # project id -> live or failed, the newest of those
    latest: dict[str, Deployment]  # project id -> its newest deployment

    def status(self, project_id: str) -> ProjectStatus:
        if project_id in self.active:
            return ProjectStatus.BUILDING
        if project_id in self.serving:
            return ProjectStatus.LIVE
        if self.last_outcome.get(project_id) == DeploymentState.FAILED:
            return ProjectStatus.FAILED
        return ProjectStatus.STOPPED


def _newest_per_project(
    session: Session, project_ids: Sequence[str], states: Sequence[str] | None = None
) -> dict[str, Deployment]:
    rank = (
        func.row_number()
        .over(
            partition_by=Deployment.project_id,
            order_by=(Deployment.queued_at.desc(), Deployment.id.desc()),
        )
        .label("rank")
    )
    query = select(Deployment, rank).where(Deployment.project_id.in_(project_ids))
    if states is not None:
        query = query.where(Deployment.state.in_(states))
    ranked = query.subquery()
    newest = aliased(Deployment, ranked)
    rows = session.scalars(select(newest).where(ranked.c.rank == 1))
    return {d.project_id: d for d in rows}


def _records(session: Session, project_ids: Sequence[str]) -> _Records:
    if not project_ids:
        return _Records(set(), {}, {}, {})
    active = session.scalars(
        select(Deployment.project_id)
        .where(Deployment.project_id.in_(project_ids), Deployment.state.in_(ACTIVE_STATES))
        .distinct()
    )
    serving: dict[str, Deployment] = {}
    for live in session.scalars(
        select(Deployment)
        .where(
            Deployment.project_id.in_(project_ids),
            Deployment.state == DeploymentState.LIVE,
            Deployment.release_stopped_at.is_(None),
        )
        .order_by(Deployment.finished_at.desc())  # as current_release: the newest wins
    ):
        serving.setdefault(live.project_id, live)
    outcomes = _newest_per_project(
        session, project_ids, (DeploymentState.LIVE, DeploymentState.FAILED)
    )
    return _Records(
        active=set(active),
        serving=serving,
        last_outcome={pid: d.state for pid, d in outcomes.items()},
        latest=_newest_per_project(session, project_ids),
    )


def project_status(session: Session, *, project_id: str) -> ProjectStatus:
    return _records(session, [project_id]).status(project_id)


def _url(
    project: Project, live: Deployment | None, *, settings: Settings, proxy: Proxy
) -> str | None:
    if live is None:
        return None
    static = bool(project.output_directory)
    route = Route(
        project_id=project.id,
        hosts=hosts_for(project, settings),
        upstream_port=None if static else live.release_port,
        static_root=None,
        stable_port=project.port,
    )
    return proxy.public_url(route)


def project_url(
    session: Session, *, project: Project, settings: Settings, proxy: Proxy
) -> str | None:
    """Where the project's current release is reachable, or None when nothing serves."""
    live = current_release(session, project.id)
    return _url(project, live, settings=settings, proxy=proxy)


def project_state(session: Session, *, project: Project, ctx: AppContext) -> dict[str, str | None]:
    """`status` and `url` for a project's JSON, both derived from its deployments."""
    proxy = backends_for(ctx).proxy
    return {
        "status": project_status(session, project_id=project.id),
        "url": project_url(session, project=project, settings=ctx.settings, proxy=proxy),
    }


def project_summaries(session: Session, *, user: User, ctx: AppContext) -> list[ProjectSummary]:
    """Every project `user` may see (by name) with its status, URL and newest deployment."""
    projects = list_projects(session, user=user)
    records = _records(session, [p.id for p in projects])
    proxy = backends_for(ctx).proxy
    return [
        ProjectSummary(
            project=p,
            status=records.status(p.id),
            url=_url(p, records.serving.get(p.id), settings=ctx.settings, proxy=proxy),
            latest=records.latest.get(p.id),
        )
        for p in projects
    ]


def overview_counts(summaries: Sequence[ProjectSummary]) -> dict[str, int]:
    """How many projects are in each status, and `total`."""
    counts: dict[str, int] = {status.value: 0 for status in ProjectStatus}
    for summary in summaries:
        counts[summary.status] += 1
    counts["total"] = len(summaries)
    return counts
