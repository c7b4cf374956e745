"""`nanoscale keys ...`: secret keys for values encrypted at rest (docs/security.md)."""

from __future__ import annotations

import typer

from nanoscale.accounts import audit
from nanoscale.cli.common import cli_context
from nanoscale.crypto import generate_key
from nanoscale.db.engine import session_scope
from nanoscale.keys import rotate_keys

app = typer.Typer(no_args_is_help=True, help="Encryption keys for secrets at rest.")


@app.command("generate")
def generate_command() -> None:
    """Print a new random key (base64url, 32 bytes) for NANOSCALE_SECRET_KEY or a key file."""
    typer.echo(generate_key())


@app.command("rotate")
def rotate_command() -> None:
    """Re-encrypt every stored secret with the primary (first) key, in one transaction."""
    with cli_context() as ctx, session_scope(ctx.sessions) as db:
        report = rotate_keys(db, ctx.keyring)
        audit.record(
            db, action="keys.rotated", actor=None, actor_label="cli", ip=None,
            details={"rotated": report.total_rotated, "primary_key_id": ctx.keyring.primary_key_id},
        )  # fmt: skip
    for column, count in report.rotated.items():
        typer.echo(f"{column}: {count} re-encrypted")
    typer.echo(
        f"done: {report.total_rotated} of {report.checked} secrets re-encrypted with key "
        f"{ctx.keyring.primary_key_id}; older keys can now be removed from the configuration"
    )
