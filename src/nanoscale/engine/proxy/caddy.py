"""Caddy driven through its admin API (loopback only).

Every change is one admin request, which Caddy applies as a graceful config switch: listeners
are kept, in-flight requests finish on the old handlers, no process reload. A project's route
is replaced in place with `PATCH /id/<route id>`, so a release switch is atomic.

Caddy keeps its config in memory (NanoScale turns persistence off in its docs): after a Caddy
restart the NanoScale server is gone. `ensure_config()` notices and re-installs every route
this process knows; the worker calls it periodically, and `restore(routes)` rebuilds from the
database after an orchestrator restart.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import httpx

from nanoscale.engine.proxy.base import Route
from nanoscale.engine.proxy.caddy_config import (
    SERVER_ID,
    SERVER_NAME,
    Listen,
    automatic_https,
    build_http_app,
    build_route,
    build_server,
    route_id,
    server_listen,
    uses_https,
)
from nanoscale.errors import ConfigError, PlatformError
from nanoscale.settings import is_loopback_host

ADMIN_TIMEOUT = 10.0


class CaddyProxy:
    def __init__(self, *, admin_url: str, listen: Listen) -> None:
        host = urlsplit(admin_url).hostname or ""
        if not is_loopback_host(host):
            raise ConfigError(
                f"NANOSCALE_CADDY_ADMIN must be a loopback address, not {host!r}: "
                "Caddy's admin API has no authentication",
                field="NANOSCALE_CADDY_ADMIN",
            )
        self._admin = admin_url.rstrip("/")
        self._listen = listen
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        # Caddy restarts its admin endpoint on every config load, so a reused keep-alive
        # connection can fail with no response: one fresh connection per admin request.
        self._http = httpx.Client(
            base_url=self._admin,
            timeout=ADMIN_TIMEOUT,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

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
                self._install_server()
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
        """Replace NanoScale's whole server with exactly these routes (one config switch)."""
        with self._lock:
            self._routes = {r.project_id: r for r in routes}
            self._install_server()

    def ensure_config(self) -> bool:
        """Re-install NanoScale's server if Caddy lost it (e.g. restarted) or its routes no
        longer match what NanoScale applied (edited behind its back). True if it did.
        Only reads when everything matches: no config load, so no connection is disturbed."""
        with self._lock:
            if self._routes_match():
                return False
            self._install_server()
            return True

    def public_url(self, route: Route) -> str:
        host = route.hosts[0].lower()
        if uses_https(host, self._listen):
            port, default, scheme = self._listen.https_port, 443, "https"
        else:
            port, default, scheme = self._listen.http_port, 80, "http"
        return f"{scheme}://{host}" + ("" if port == default else f":{port}")

    def healthy(self) -> bool:
        try:
            return self._http.get("/config/").status_code == 200
        except httpx.TransportError:
            return False

    def close(self) -> None:
        self._http.close()

    # -- admin API helpers ---------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Route | Any = None) -> httpx.Response:
        payload = build_route(body, self._listen) if isinstance(body, Route) else body
        try:
            if payload is None:
                return self._http.request(method, path)
            return self._http.request(method, path, json=payload)
        except httpx.TransportError as exc:
            raise PlatformError(
                f"Caddy's admin API at {self._admin} is unreachable ({type(exc).__name__})",
                code="proxy_unreachable",
            ) from None

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

    def _routes_match(self) -> bool:
        response = self._request("GET", f"/id/{SERVER_ID}/routes")
        if response.status_code in {400, 404}:
            return False
        self._check(response)
        actual = {r.get("@id"): r for r in response.json() or [] if isinstance(r, dict)}
        expected = {route_id(p): build_route(r, self._listen) for p, r in self._routes.items()}
        return actual == expected

    def _install_server(self) -> None:
        routes = list(self._routes.values())
        apps = self._request("GET", "/config/apps")
        if apps.status_code >= 400 or apps.json() is None:
            body = {"http": build_http_app(routes, self._listen)}
            self._check(self._request("POST", "/config/apps", body))
        elif "http" not in apps.json():
            body = build_http_app(routes, self._listen)
            self._check(self._request("POST", "/config/apps/http", body))
        else:
            path = f"/config/apps/http/servers/{SERVER_NAME}"
            self._check(self._request("POST", path, build_server(routes, self._listen)))

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
