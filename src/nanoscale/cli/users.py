"""`nanoscale user ...`: manage accounts from the server's shell (e.g. a lost admin)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nanoscale.accounts import users
from nanoscale.cli.common import cli_context
from nanoscale.db.engine import session_scope
from nanoscale.projects.service import count_owned_projects

app = typer.Typer(no_args_is_help=True, help="User accounts.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@app.command("create")
def create_command(
    username: str,
    admin: Annotated[bool, typer.Option("--admin", help="Give the user admin rights.")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user. The password is prompted for (never passed as an argument)."""
    password = _read_password(password_stdin)
    with cli_context() as ctx, session_scope(ctx.sessions) as db:
        user = users.create_user(
            db, actor=None, actor_label="cli", username=username, password=password,
            is_admin=admin, ip=None,
        )  # fmt: skip
        typer.echo(f"created {'admin' if admin else 'user'} {user.username} ({user.id})")


@app.command("list")
def list_command() -> None:
    """List users."""
    with cli_context() as ctx, session_scope(ctx.sessions) as db:
        rows = users.list_users(db)
        if not rows:
            typer.echo("no users yet: open the dashboard or run `nanoscale user create --admin`")
        for user in rows:
            role = "admin" if user.is_admin else "user"
            typer.echo(f"{user.username}\t{role}\t{user.id}\t{user.created_at:%Y-%m-%d}")


@app.command("delete")
def delete_command(username: str) -> None:
    """Remove a user (refused while they own projects, or for the last admin)."""
    with cli_context() as ctx, session_scope(ctx.sessions) as db:
        user = users.find_user(db, username=username)
        if user is None:
            typer.echo(f"error: no user named {username!r}", err=True)
            raise typer.Exit(1)
        users.delete_user(
            db,
            actor=None,
            actor_label="cli",
            user_id=user.id,
            ip=None,
            owned_projects=count_owned_projects,
        )
        typer.echo(f"removed {user.username}")
