"""`nanoscale` command line. Each command builds settings at run time, never at import."""

from __future__ import annotations

import typer

from nanoscale.cli import db as db_commands
from nanoscale.cli import github as github_commands
from nanoscale.cli import keys as keys_commands
from nanoscale.cli import users as user_commands
from nanoscale.cli.deploy import deploy, deployments
from nanoscale.cli.doctor import doctor
from nanoscale.cli.serve import serve

app = typer.Typer(no_args_is_help=True, help="NanoScale: self-hosted deployments.")
app.command("serve")(serve)
app.add_typer(db_commands.app, name="db")
app.add_typer(user_commands.app, name="user")
app.add_typer(keys_commands.app, name="keys")
app.add_typer(github_commands.app, name="github")
app.command("doctor")(doctor)
app.command("deploy")(deploy)
app.command("deployments")(deployments)
