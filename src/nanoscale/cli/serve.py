"""`nanoscale serve`: migrate, then run the orchestrator under uvicorn."""

from __future__ import annotations

from typing import Any

import typer
import uvicorn

from nanoscale.app import create_app
from nanoscale.cli.common import settings_or_exit
from nanoscale.cli.host_checks import startup_notes
from nanoscale.cli.proxy_startup import start_proxy
from nanoscale.context import build_context
from nanoscale.db.migrate import upgrade
from nanoscale.errors import NanoScaleError
from nanoscale.settings import Settings

SHUTDOWN_GRACE_SECONDS = 5


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's keyword arguments for these settings (shared with the tests).

    uvicorn's own proxy-header handling stays off: it would believe X-Forwarded-For from any
    loopback connection, deployed apps' included. The app's ForwardedHeadersMiddleware
    believes it only from a trusted proxy that also presents the proxy secret."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": False,
        "forwarded_allow_ips": [],
        # Log streams (a release's output) never end by themselves: do not wait on them.
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
    }


def serve() -> None:
    """Apply migrations and serve the API and dashboard."""
    settings = settings_or_exit()
    try:
        settings, proxy_line = start_proxy(settings)
        ctx = build_context(settings)
        upgrade(ctx.engine)
    except NanoScaleError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    for note in startup_notes(settings):
        typer.echo(note, err=True)
    app = create_app(settings, context=ctx)
    url = f"http://{settings.host}:{settings.port}"
    typer.echo(f"NanoScale {app.version} is running at {url}  (Ctrl+C to stop)")
    typer.echo(proxy_line)
    uvicorn.run(app, **uvicorn_options(settings))
    ctx.close()
