"""The real app under a real uvicorn server in a thread, configured exactly as `nanoscale
serve` configures it (`uvicorn_options`), for what only a socket shows (proxy headers,
chunked bodies)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from nanoscale.app import create_app
from nanoscale.cli.serve import uvicorn_options
from nanoscale.context import AppContext

STARTUP_LIMIT_SECONDS = 20


@contextmanager
def live_server(context: AppContext) -> Iterator[str]:
    """Serve on `context.settings`' host and port; yields the base URL."""
    settings = context.settings
    config = uvicorn.Config(create_app(settings, context=context), **uvicorn_options(settings))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://{settings.host}:{settings.port}"
    finally:
        server.should_exit = True
        thread.join()
