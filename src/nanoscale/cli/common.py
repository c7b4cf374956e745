"""Helpers shared by CLI commands: settings/context loading with readable config errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from nanoscale.context import AppContext, build_context
from nanoscale.errors import NanoScaleError
from nanoscale.logs import configure_logging
from nanoscale.settings import Settings, load_settings


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except NanoScaleError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    configure_logging(production=settings.is_production, level=settings.log_level)
    return settings


@contextmanager
def cli_context() -> Iterator[AppContext]:
    settings = settings_or_exit()
    try:
        ctx = build_context(settings)
    except NanoScaleError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    try:
        yield ctx
    except NanoScaleError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        ctx.close()
