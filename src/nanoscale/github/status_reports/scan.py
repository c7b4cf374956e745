"""The reporter's database side: enrol new deployments of GitHub-linked projects, and find
the reports that have something new to say. Short transactions only; no GitHub call here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.deployments.backends import backends_for
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.reads.status import project_url
from nanoscale.deployments.states import ACTIVE_STATES, DeploymentState
from nanoscale.github import models as m
from nanoscale.github.status_reports.models import GitHubStatusReport as Report
from nanoscale.github.status_reports.modes import reporting_for
from nanoscale.github.status_reports.states import (
    Observed,
    deployment_steps,
    settled,
    status_steps,
)
from nanoscale.projects.models import Project

BATCH = 50  # reports handled per pass; the rest wait for the next one


@dataclass(frozen=True)
class Job:
    """One deployment's pending report, detached from the database."""

    deployment_id: str
    project_id: str
    project_name: str
    mode: str
    installation_id: int
    repo_id: int
    full_name: str
    sha: str
    github_deployment_id: int | None
    reported: str | None
    attempts: int
    steps: tuple[str, ...]
    environment_url: str | None


def unknown_permissions(db: Session) -> list[int]:
    """Installations with new deployments to enrol whose permissions were never listed."""
    rows = db.scalars(
        select(m.ProjectGitHubLink.installation_id)
        .join(Deployment, Deployment.project_id == m.ProjectGitHubLink.project_id)
        .join(m.GitHubInstallation,
              m.GitHubInstallation.installation_id == m.ProjectGitHubLink.installation_id)
        .outerjoin(Report, Report.deployment_id == Deployment.id)
        .where(Report.deployment_id.is_(None), m.GitHubInstallation.permissions.is_(None))
        .distinct()
    )  # fmt: skip
    return list(rows)


def enrol(db: Session) -> int:
    """A report row for each new deployment of a linked project, its mode decided now."""
    rows = db.execute(
        select(Deployment, m.ProjectGitHubLink, m.GitHubInstallation)
        .join(m.ProjectGitHubLink, m.ProjectGitHubLink.project_id == Deployment.project_id)
        .outerjoin(m.GitHubInstallation,
                   m.GitHubInstallation.installation_id == m.ProjectGitHubLink.installation_id)
        .outerjoin(Report, Report.deployment_id == Deployment.id)
        .where(Report.deployment_id.is_(None),
               # Not yet: a commit still being resolved, permissions the reporter asks first.
               or_(Deployment.commit_sha.is_not(None), Deployment.state.not_in(ACTIVE_STATES)),
               or_(m.ProjectGitHubLink.active.is_(False),
                   m.GitHubInstallation.installation_id.is_(None),
                   m.GitHubInstallation.permissions.is_not(None)))
        .limit(BATCH)
    ).all()  # fmt: skip
    made = 0
    for deployment, link, installation in rows:
        mode = "none"
        if link.active and installation is not None and deployment.commit_sha is not None:
            mode = reporting_for(installation.permissions, suspended=installation.suspended).mode
        try:
            with db.begin_nested():  # another reporter may enrol it at the same moment
                db.add(Report(deployment_id=deployment.id, mode=mode, done=mode == "none",
                              attempts=0))  # fmt: skip
        except IntegrityError:
            continue
        made += 1
    return made


def due(db: Session, *, ctx: AppContext, now: datetime) -> list[Job]:
    """Reports with steps to post; reports with nothing left to say are closed here."""
    rows = db.execute(
        select(Report, Deployment, Project, m.ProjectGitHubLink)
        .join(Deployment, Deployment.id == Report.deployment_id)
        .join(Project, Project.id == Deployment.project_id)
        .join(m.ProjectGitHubLink, m.ProjectGitHubLink.project_id == Project.id)
        .where(Report.done.is_(False), or_(Report.retry_at.is_(None), Report.retry_at <= now))
        .order_by(Deployment.queued_at)
    ).all()  # open rows are few: in-flight deployments and one live release per project
    jobs: list[Job] = []
    for report, deployment, project, link in rows:
        seen = Observed(
            state=deployment.state,
            ran=deployment.fetching_at is not None,
            retired=deployment.release_stopped_at is not None,
        )
        pick = deployment_steps if report.mode == "deployments" else status_steps
        steps = pick(seen, report.reported_state)
        if len(jobs) >= BATCH:
            break
        if not steps:
            report.done = settled(report.mode, seen)
            continue
        url = None
        if "success" in steps and deployment.state == DeploymentState.LIVE:
            proxy = backends_for(ctx).proxy
            url = project_url(db, project=project, settings=ctx.settings, proxy=proxy)
        jobs.append(
            Job(
                deployment_id=deployment.id,
                project_id=project.id,
                project_name=project.name,
                mode=report.mode,
                installation_id=link.installation_id,
                repo_id=link.repo_id,
                full_name=link.full_name,
                sha=str(deployment.commit_sha),
                github_deployment_id=report.github_deployment_id,
                reported=report.reported_state,
                attempts=report.attempts,
                steps=tuple(steps),
                environment_url=url,
            )
        )
    return jobs
