"""Run the `nanoscale` CLI in-process (typer's CliRunner) without leaking its logging setup."""

from __future__ import annotations

import structlog
from click.testing import Result
from typer.testing import CliRunner

from nanoscale.cli.main import app


def run_cli(*args: str, input: str | None = None) -> Result:
    """Invoke the CLI; settings come from the (monkeypatched) NANOSCALE_* environment."""
    config = structlog.get_config()
    try:
        return CliRunner().invoke(app, list(args), input=input)
    finally:
        # The CLI points structlog at the runner's stderr, which is closed afterwards.
        structlog.configure(**config)
