"""No reverse proxy (where Caddy cannot run): each project keeps its own loopback port.

A route with a `stable_port` (the project's `port`) gets a forwarder on that port to the live
release, so the project's address survives redeploys and rollbacks. If the port cannot be
bound, the URL shown is the release's own port (the honest fallback: it answers, but changes
with every release). Static sites have no process of their own, so this backend serves each
one from a small in-process file server on a free loopback port.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from nanoscale.engine.proxy.base import Route
from nanoscale.engine.proxy.forwarder import Forwarder
from nanoscale.logs import get_logger

log = get_logger(__name__)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class _StaticServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


class NoProxy:
    def __init__(self) -> None:
        self._static: dict[str, _StaticServer] = {}
        self._forwarders: dict[str, Forwarder] = {}
        self._lock = threading.Lock()

    def apply(self, route: Route) -> None:
        with self._lock:
            old = self._static.get(route.project_id)
            if old is not None and old.root == route.static_root:
                self._forward(route)
                return
            self._static.pop(route.project_id, None)
            if route.static_root is not None:
                self._static[route.project_id] = _StaticServer(route.static_root)
            self._forward(route)  # before the old server closes: no connection refused
            if old is not None:
                old.close()

    def _forward(self, route: Route) -> None:
        target = self._upstream(route)
        forwarder = self._forwarders.get(route.project_id)
        if forwarder is not None and forwarder.port != route.stable_port:
            self._forwarders.pop(route.project_id).close()
            forwarder = None
        if forwarder is not None and target is not None:
            forwarder.target = target  # new connections go to the new release
        elif route.stable_port is not None and target is not None:
            try:
                self._forwarders[route.project_id] = Forwarder(route.stable_port, target)
            except OSError as exc:
                log.warning(
                    "proxy.stable_port_unavailable",
                    project_id=route.project_id,
                    port=route.stable_port,
                    error=exc.strerror,
                )

    def _upstream(self, route: Route) -> int | None:
        static = self._static.get(route.project_id)
        return static.port if static is not None else route.upstream_port

    def remove(self, project_id: str) -> None:
        with self._lock:
            self._drop_static(project_id)
            forwarder = self._forwarders.pop(project_id, None)
            if forwarder is not None:
                forwarder.close()

    def restore(self, routes: list[Route]) -> None:
        for route in routes:
            self.apply(route)

    def ensure_config(self) -> bool:
        return False

    def public_url(self, route: Route) -> str | None:
        """None for a static site this process does not serve (another process may)."""
        forwarder = self._forwarders.get(route.project_id)
        port = forwarder.port if forwarder is not None else self._upstream(route)
        return None if port is None else f"http://127.0.0.1:{port}"

    def healthy(self) -> bool:
        return True

    def static_reader_gid(self) -> int | None:
        return None  # served by this process

    def close(self) -> None:
        with self._lock:
            for project_id in list(self._static):
                self._drop_static(project_id)
            for forwarder in self._forwarders.values():
                forwarder.close()
            self._forwarders.clear()

    def _drop_static(self, project_id: str) -> None:
        server = self._static.pop(project_id, None)
        if server is not None:
            server.close()
