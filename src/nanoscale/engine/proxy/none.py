"""No reverse proxy (development): apps are reached on their own loopback ports.

Static sites have no process of their own, so this backend serves each one from a small
in-process file server on a free loopback port.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from nanoscale.engine.proxy.base import Route


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
        self._lock = threading.Lock()

    def apply(self, route: Route) -> None:
        with self._lock:
            current = self._static.get(route.project_id)
            if current is not None and current.root == route.static_root:
                return
            self._drop(route.project_id)
            if route.static_root is not None:
                self._static[route.project_id] = _StaticServer(route.static_root)

    def remove(self, project_id: str) -> None:
        with self._lock:
            self._drop(project_id)

    def restore(self, routes: list[Route]) -> None:
        for route in routes:
            self.apply(route)

    def ensure_config(self) -> bool:
        return False

    def public_url(self, route: Route) -> str | None:
        """None for a static site this process does not serve (another process may)."""
        static = self._static.get(route.project_id)
        port = static.port if static is not None else route.upstream_port
        return None if port is None else f"http://127.0.0.1:{port}"

    def healthy(self) -> bool:
        return True

    def close(self) -> None:
        with self._lock:
            for project_id in list(self._static):
                self._drop(project_id)

    def _drop(self, project_id: str) -> None:
        server = self._static.pop(project_id, None)
        if server is not None:
            server.close()
