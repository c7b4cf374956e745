"""`nanoscale deploy` / `nanoscale deployments`: the CLI's door to the one deployment entry point.

The command only records the request (as the project's owner); the worker inside
`nanoscale serve` picks it up at its next poll.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nanoscale.accounts.models import User
from nanoscale.cli.common import cli_context
from nanoscale.db.engine import session_scope
from nanoscale.deployments import service
from nanoscale.deployments.states import DeploymentState
from nanoscale.projects.service import find_project_by_name


def deploy(
    project: Annotated[str, typer.Argument(help="Project name.")],
    commit: Annotated[
        str | None, typer.Option("--commit", help="Full commit SHA (default: branch head).")
    ] = None,
) -> None:
    """Queue a deployment of the project's branch head, or of one exact commit."""
    with cli_context() as ctx, session_scope(ctx.sessions) as db:
        found = find_project_by_name(db, name=project)
        owner = db.get(User, found.owner_id)
        assert owner is not None  # owner_id is a non-null foreign key
        deployment = service.redeploy(db, user=owner, project_id=found.id, commit_sha=commit)
        sha = (deployment.commit_sha or "")[:12] or "-"
        typer.echo(f"deployment {deployment.id} {deployment.state} commit {sha}")
        if deployment.state == DeploymentState.FAILED:
            typer.echo(f"error: {deployment.error_message}", err=True)
            raise typer.Exit(1)


def deployments(
    project: Annotated[str, typer.Argument(help="Project name.")],
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
) -> None:
    """List the project's most recent deployments, newest first."""
    with cli_context() as ctx, session_scope(ctx.sessions) as db:
        found = find_project_by_name(db, name=project)
        owner = db.get(User, found.owner_id)
        assert owner is not None  # owner_id is a non-null foreign key
        for row in service.list_for_project(db, user=owner, project_id=found.id, limit=limit):
            sha = (row.commit_sha or "")[:12] or "-"
            when = f"{row.queued_at:%Y-%m-%d %H:%M:%S}"
            typer.echo(f"{row.id}\t{row.state}\t{row.trigger}\t{sha}\t{when}")
