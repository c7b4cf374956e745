"""Bridges between records and the engine: the job snapshot of a deployment, the current
release of a project, and what a restarted orchestrator must re-adopt and re-route."""

from __future__ import annotations

import os

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.crypto import KeyRing
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.states import DeploymentState
from nanoscale.engine.pipeline import (
    ProjectPaths,
    ReleaseJob,
    route_for,
    spec_for,
)
from nanoscale.engine.proxy.base import Route, project_hosts
from nanoscale.engine.runtime.base import STATIC_REF, ReleaseHandle, ReleaseSpec
from nanoscale.engine.runtime.users import project_user_name
from nanoscale.projects.models import Project
from nanoscale.projects.secrets import read_env_vars
from nanoscale.settings import Settings


def project_paths(settings: Settings, project_id: str) -> ProjectPaths:
    return ProjectPaths(root=settings.data_dir.resolve() / "projects" / project_id)


def hosts_for(project: Project, settings: Settings) -> tuple[str, ...]:
    return project_hosts(
        project.name, settings.base_domain, (project.domain,) if project.domain else ()
    )


def release_job(
    project: Project, deployment: Deployment, *, settings: Settings, keyring: KeyRing
) -> ReleaseJob:
    assert deployment.commit_sha is not None
    return ReleaseJob(
        project_id=project.id,
        project_name=project.name,
        deployment_id=deployment.id,
        repo_url=project.repo_url,
        commit_sha=deployment.commit_sha,
        root_directory=project.root_directory,
        install_command=project.install_command,
        build_command=project.build_command,
        start_command=project.start_command,
        output_directory=project.output_directory,
        health_check_path=project.health_check_path,
        hosts=hosts_for(project, settings),
        env=read_env_vars(project, keyring=keyring),
        stable_port=project.port,
    )


def current_release(session: Session, project_id: str) -> Deployment | None:
    """The live deployment whose release is running (the newest, if a switch was interrupted)."""
    return session.scalar(
        select(Deployment)
        .where(
            Deployment.project_id == project_id,
            Deployment.state == DeploymentState.LIVE,
            Deployment.release_stopped_at.is_(None),
        )
        .order_by(Deployment.finished_at.desc())
        .limit(1)
    )


def handle_of(deployment: Deployment) -> ReleaseHandle:
    return ReleaseHandle(
        deployment_id=deployment.id,
        project_id=deployment.project_id,
        port=deployment.release_port or 0,
        ref=deployment.release_ref or STATIC_REF,
    )


def taken_ports(session: Session) -> set[int]:
    rows = session.scalars(
        select(Deployment.release_port).where(
            Deployment.release_port.is_not(None), Deployment.release_stopped_at.is_(None)
        )
    )
    return {p for p in rows if p is not None}


def release_spec(job: ReleaseJob, deployment: Deployment, paths: ProjectPaths) -> ReleaseSpec:
    """What the runtime needs to re-adopt (or restart) a live release after a restart."""
    run_as = project_user_name(job.project_name, job.project_id) if os.geteuid() == 0 else None
    return spec_for(job, paths, port=deployment.release_port or 0, run_as=run_as)


def route_of(job: ReleaseJob, deployment: Deployment, paths: ProjectPaths) -> Route:
    return route_for(job, deployment.release_port or 0, paths)
