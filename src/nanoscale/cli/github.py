"""`nanoscale github ...`: operating the GitHub App integration (docs/github-operations.md)."""

from __future__ import annotations

from datetime import timedelta

import typer

from nanoscale.cli.common import cli_context
from nanoscale.context import AppContext
from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.hook_rotation import DEFAULT_GRACE, rotate_hook_secrets
from nanoscale.github.reconciler import reconcile_pass
from nanoscale.github.runtime import GATEWAY_KEY


def close_gateway(ctx: AppContext) -> None:
    """The context does not own the gateway's connection pool; a command closes it."""
    gateway = ctx.components.pop(GATEWAY_KEY, None)
    if isinstance(gateway, GitHubGateway):
        gateway.close()


app = typer.Typer(no_args_is_help=True, help="The GitHub App integration.")
GRACE_MINUTES = int(DEFAULT_GRACE.total_seconds() // 60)


@app.command("rotate-hook-secrets")
def rotate_hook_secrets_command(
    grace_minutes: int = typer.Option(
        GRACE_MINUTES, min=1, help="How long each old secret is still accepted."
    ),
) -> None:
    """Give every repository hook a new secret, on GitHub and here, refusing no delivery."""
    with cli_context() as ctx:
        try:
            results = rotate_hook_secrets(ctx, grace=timedelta(minutes=grace_minutes))
        finally:
            close_gateway(ctx)
    for result in results:
        status = "rotated" if result.error is None else f"FAILED ({result.error})"
        typer.echo(f"{result.full_name} hook {result.hook_id}: {status}")
    failed = sum(r.error is not None for r in results)
    typer.echo(f"{len(results) - failed} of {len(results)} repository hook secret(s) rotated")
    raise typer.Exit(1 if failed else 0)


@app.command("reconcile")
def reconcile_command(
    project: str | None = typer.Option(None, "--project", help="Check only this project (id)."),
) -> None:
    """One reconciler pass now: deploy missed pushes, repair hooks, refresh repositories."""
    with cli_context() as ctx:
        try:
            report = reconcile_pass(ctx, project_id=project)
        finally:
            close_gateway(ctx)
    for check in report.checks:
        hook = f", hook {check.hook}" if check.hook else ""
        sha = f" {check.head_sha[:12]}" if check.head_sha else ""
        typer.echo(f"project {check.project_id} ({check.branch}{sha}): {check.result}{hook}")
    if report.stopped:
        typer.echo(f"pass stopped early ({report.stopped}); the next pass resumes")
    failed = sum(c.result.startswith("error:") for c in report.checks)
    typer.echo(f"{len(report.checks)} project(s) checked, {len(report.deployed)} deployment(s) "
               f"requested, {failed} failed")  # fmt: skip
    raise typer.Exit(1 if failed else 0)
