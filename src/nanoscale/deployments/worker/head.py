"""Resolving a branch-head request to its commit, on the worker: a request for "the head of
main" is queued without a commit (the request thread never waits on the git host), and the
runner that claims it asks the remote (`git ls-remote`) before anything else."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.queue.sql import changed
from nanoscale.deployments.states import DeploymentState
from nanoscale.engine.credentials import CredentialProvider
from nanoscale.engine.fetch import resolve_ref
from nanoscale.projects.models import Project

RESOLVE_TIMEOUT_SECONDS = 20


def resolve_head(
    sessions: sessionmaker[Session],
    *,
    deployment: Deployment,
    project: Project,
    credentials: CredentialProvider,
    log: Callable[[str], None],
) -> bool:
    """Record the commit `deployment.ref` points at now (and set it on `deployment`).
    False when that commit was queued again meanwhile: this deployment then ends
    `superseded`, and the other one deploys the commit. Raises what `resolve_ref` raises
    (the runner records it as the deployment's failure)."""
    ref = deployment.ref or project.branch
    sha = resolve_ref(
        url=project.repo_url, ref=ref, credentials=credentials, timeout=RESOLVE_TIMEOUT_SECONDS
    )
    log(f"{ref} is at {sha}\n")
    mine = update(Deployment).where(Deployment.id == deployment.id)
    with session_scope(sessions) as session:
        try:
            with session.begin_nested():  # the unique (project, active commit) decides
                changed(session, mine.values(commit_sha=sha, active_sha=sha))
        except IntegrityError:
            changed(
                session,
                mine.values(commit_sha=sha, state=DeploymentState.SUPERSEDED, finished_at=utcnow()),
            )
            log("this commit is already queued again; that deployment will deploy it\n")
            return False
    deployment.commit_sha = sha
    return True
