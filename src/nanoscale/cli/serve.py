"""`nanoscale serve`: migrate, then run the orchestrator under uvicorn."""

from __future__ import annotations

import typer
import uvicorn

from nanoscale.app import create_app
from nanoscale.cli.common import settings_or_exit
from nanoscale.context import build_context
from nanoscale.db.migrate import upgrade
from nanoscale.errors import NanoScaleError


def serve() -> None:
    """Apply migrations and serve the API and dashboard."""
    settings = settings_or_exit()
    try:
        ctx = build_context(settings)
        upgrade(ctx.engine)
    except NanoScaleError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    app = create_app(settings, context=ctx)
    url = f"http://{settings.host}:{settings.port}"
    typer.echo(f"NanoScale {app.version} is running at {url}  (Ctrl+C to stop)")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
    ctx.close()
