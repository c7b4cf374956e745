"""`nanoscale db ...`: schema migrations."""

from __future__ import annotations

import typer

from nanoscale.cli.common import cli_context
from nanoscale.db.migrate import drift, upgrade

app = typer.Typer(no_args_is_help=True, help="Database schema.")


@app.command("upgrade")
def upgrade_command() -> None:
    """Apply all pending migrations."""
    with cli_context() as ctx:
        upgrade(ctx.engine)
        typer.echo("database is up to date")


@app.command("check")
def check_command() -> None:
    """Exit non-zero when the models and the migrated schema differ."""
    with cli_context() as ctx:
        diffs = drift(ctx.engine)
        for diff in diffs:
            typer.echo(f"drift: {diff}")
        raise typer.Exit(1 if diffs else 0)
