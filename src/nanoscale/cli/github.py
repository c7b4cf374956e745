"""`nanoscale github ...`: operating the GitHub App integration (docs/github-operations.md)."""

from __future__ import annotations

from datetime import timedelta

import typer

from nanoscale.cli.common import cli_context
from nanoscale.context import AppContext
from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.hook_rotation import DEFAULT_GRACE, rotate_hook_secrets
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
