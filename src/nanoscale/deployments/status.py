"""A project's status and URL, derived from its deployment records (never stored).

building  a deployment is queued or running
live      a release is serving (even if a later deployment failed)
failed    nothing serves and the latest deployment failed
stopped   nothing serves (never deployed, or every release was stopped)
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.deployments.backends import backends_for
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.releases import current_release, hosts_for
from nanoscale.deployments.service import has_active
from nanoscale.engine.proxy.base import Proxy, Route
from nanoscale.projects.models import Project
from nanoscale.settings import Settings

ProjectStatus = Literal["live", "building", "failed", "stopped"]


def project_status(session: Session, *, project_id: str) -> ProjectStatus:
    if has_active(session, project_id):
        return "building"
    if current_release(session, project_id) is not None:
        return "live"
    latest = session.scalar(
        select(Deployment.state)
        .where(Deployment.project_id == project_id, Deployment.state.in_(("live", "failed")))
        .order_by(Deployment.queued_at.desc())
        .limit(1)
    )
    return "failed" if latest == "failed" else "stopped"


def project_url(
    session: Session, *, project: Project, settings: Settings, proxy: Proxy
) -> str | None:
    """Where the project's current release is reachable, or None when nothing serves."""
    live = current_release(session, project.id)
    if live is None:
        return None
    static = bool(project.output_directory)
    route = Route(
        project_id=project.id,
        hosts=hosts_for(project, settings),
        upstream_port=None if static else live.release_port,
        static_root=None,
    )
    url = proxy.public_url(route)
    return None if url.endswith(":None") else url  # a static site served by another process


def project_state(session: Session, *, project: Project, ctx: AppContext) -> dict[str, str | None]:
    """`status` and `url` for a project's JSON, both derived from its deployments."""
    proxy = backends_for(ctx).proxy
    return {
        "status": project_status(session, project_id=project.id),
        "url": project_url(session, project=project, settings=ctx.settings, proxy=proxy),
    }
