"""Caddy driven through its admin API, on a Unix socket only NanoScale can reach.

Every change is one admin request, which Caddy applies as a graceful config switch: listeners
are kept, in-flight requests finish on the old handlers, no process reload. A project's route
is replaced in place with `PATCH /id/<route id>`, so a release switch is atomic.

NanoScale owns Caddy's whole routing config (`caddy_config.whole_config`): besides its own
`nanoscale` server, nothing may route traffic or open the admin API. Caddy keeps its config in
memory (persistence off), so after a Caddy restart the server is gone. `ensure_config()`
compares the WHOLE live config with what NanoScale applied and loads the repaired config when
they differ (a restart, a foreign route, a file server at `/`, a remote admin endpoint);
the worker calls it periodically, and `restore(routes)` rebuilds from the database after an
orchestrator restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from nanoscale.engine.proxy.base import Route
from nanoscale.engine.proxy.caddy_admin import CaddyAdmin, admin_listen_address
from nanoscale.engine.proxy.caddy_config import (
    SERVER_ID,
    Listen,
    automatic_https,
    build_route,
    config_matches,
    route_id,
    server_listen,
    uses_https,
    whole_config,
)
from nanoscale.errors import PlatformError


class CaddyProxy:
    def __init__(
        self, *, admin_socket: Path, listen: Listen, revive: Callable[[], object] | None = None
    ) -> None:
        """`revive` starts Caddy again when it is NanoScale's own and stopped answering."""
        self._revive = revive
        self._admin = CaddyAdmin(admin_socket)
        self._admin_listen = admin_listen_address(admin_socket)
        self._listen = listen
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()

    # -- Proxy interface ---------------------------------------------------------------------

    def apply(self, route: Route) -> None:
        """Switch the project's route. Remembered only once Caddy accepted it: a failed switch
        keeps the previous route as the one `ensure_config()` repairs to (the deployment that
        asked failed, and the old release keeps serving)."""
        with self._lock:
            previous = self._routes.get(route.project_id)
            self._routes[route.project_id] = route
            try:
                self._apply_locked(route)
            except BaseException:
                if previous is None:
                    self._routes.pop(route.project_id, None)
                else:
                    self._routes[route.project_id] = previous
                raise

    def _apply_locked(self, route: Route) -> None:
        response = self._request("PATCH", f"/id/{route_id(route.project_id)}", route)
        if response.status_code == 404:  # new project, or Caddy lost our server
            if self._server_present():
                self._check(self._request("POST", f"/id/{SERVER_ID}/routes", route))
            else:
                self._load_whole_config()
                return
        else:
            self._check(response)
        self._sync_server_fields()

    def remove(self, project_id: str) -> None:
        with self._lock:
            self._routes.pop(project_id, None)
            response = self._request("DELETE", f"/id/{route_id(project_id)}")
            if response.status_code != 404:
                self._check(response)
            if self._server_present():
                self._sync_server_fields()

    def restore(self, routes: list[Route]) -> None:
        """Load the whole config with exactly these routes (one config switch)."""
        with self._lock:
            self._routes = {r.project_id: r for r in routes}
            self._load_whole_config()

    def ensure_config(self) -> bool:
        """Load the repaired whole config if Caddy's differs from what NanoScale applied (Caddy
        restarted, or anything was added or edited behind its back). True if it did.
        Only reads when everything matches: no config load, so no connection is disturbed."""
        with self._lock:
            current = self._current_or_revived_config()
            routes = list(self._routes.values())
            if config_matches(current, routes, self._listen, self._admin_listen):
                return False
            self._load(whole_config(current, routes, self._listen, self._admin_listen))
            return True

    def public_url(self, route: Route) -> str:
        host = route.hosts[0].lower()
        if uses_https(host, self._listen):
            port, default, scheme = self._listen.https_port, 443, "https"
        else:
            port, default, scheme = self._listen.http_port, 80, "http"
        return f"{scheme}://{host}" + ("" if port == default else f":{port}")

    def healthy(self) -> bool:
        return self._admin.answers()

    def static_reader_gid(self) -> int | None:
        """Caddy's group: Caddy created its admin socket, so the socket carries it."""
        try:
            return self._admin.socket_path.stat().st_gid
        except OSError:
            return None

    def close(self) -> None:
        self._admin.close()

    # -- admin API helpers ---------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Route | Any = None) -> httpx.Response:
        payload = build_route(body, self._listen) if isinstance(body, Route) else body
        return self._admin.request(method, path, payload)

    def _check(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise PlatformError(
                f"Caddy rejected a config change ({response.status_code}): {response.text[:300]}",
                code="proxy_config_rejected",
            )

    def _server_present(self) -> bool:
        response = self._request("GET", f"/id/{SERVER_ID}")
        if response.status_code in {400, 404}:
            return False
        self._check(response)
        return True

    def _current_config(self) -> Any:
        response = self._request("GET", "/config/")
        self._check(response)
        return response.json()

    def _current_or_revived_config(self) -> Any:
        try:
            return self._current_config()
        except PlatformError as exc:
            if exc.code != "proxy_unreachable" or self._revive is None:
                raise
        self._revive()
        return self._current_config()

    def _load_whole_config(self) -> None:
        routes = list(self._routes.values())
        current = self._current_config()
        self._load(whole_config(current, routes, self._listen, self._admin_listen))

    def _load(self, config: dict[str, Any]) -> None:
        self._check(self._request("POST", "/load", config))

    def _sync_server_fields(self) -> None:
        """Listen addresses and HTTPS skip list follow the set of hosts."""
        routes = list(self._routes.values())
        for field, value in (
            ("listen", server_listen(routes, self._listen)),
            ("automatic_https", automatic_https(routes, self._listen)),
        ):
            current = self._request("GET", f"/id/{SERVER_ID}/{field}")
            if current.status_code >= 400 or current.json() != value:
                self._check(self._request("POST", f"/id/{SERVER_ID}/{field}", value))
