"""`nanoscale` command line. Each command builds settings at run time, never at import."""

from __future__ import annotations

from typing import Annotated

import typer

from nanoscale import __version__
from nanoscale.cli import db as db_commands
from nanoscale.cli import github as github_commands
from nanoscale.cli import keys as keys_commands
from nanoscale.cli import users as user_commands
from nanoscale.cli.deploy import deploy, deployments
from nanoscale.cli.doctor import doctor
from nanoscale.cli.serve import serve

app = typer.Typer(no_args_is_help=True, help="NanoScale: self-hosted deployments.")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"nanoscale {__version__}")
        raise typer.Exit


@app.callback()
def main(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """NanoScale: self-hosted deployments."""


app.command("serve")(serve)
app.add_typer(db_commands.app, name="db")
app.add_typer(user_commands.app, name="user")
app.add_typer(keys_commands.app, name="keys")
app.add_typer(github_commands.app, name="github")
app.command("doctor")(doctor)
app.command("deploy")(deploy)
app.command("deployments")(deployments)
