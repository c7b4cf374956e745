"""Pure functions that turn NanoScale routes into Caddy JSON config (no I/O, tested by content).

NanoScale owns one server, `nanoscale`, inside Caddy's `http` app; other servers in the same
Caddy are left alone. Each project is one route with an `@id`, so the admin API can replace it
atomically (`PATCH /id/<route id>`).

HTTPS: the server listens on the HTTPS port only when some route has a public (non-loopback)
host and an HTTPS port is configured; Caddy's automatic HTTPS then obtains and renews
certificates for those hosts. Loopback hosts (`*.localhost`) are listed in
`automatic_https.skip`, so they are served over plain HTTP and never sent to a CA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nanoscale.engine.proxy.base import Route
from nanoscale.settings import is_loopback_host

SERVER_NAME = "nanoscale"
SERVER_ID = "nanoscale-server"


@dataclass(frozen=True)
class Listen:
    host: str  # "" binds every interface
    http_port: int
    https_port: int  # 0 disables HTTPS


def route_id(project_id: str) -> str:
    return f"nanoscale-route-{project_id}"


def is_public_host(host: str) -> bool:
    return not is_loopback_host(host.lower())


def uses_https(host: str, listen: Listen) -> bool:
    return listen.https_port > 0 and is_public_host(host)


def route_matchers(route: Route, listen: Listen) -> list[dict[str, Any]]:
    """Loopback hosts match any scheme; public hosts match HTTPS only when HTTPS is on, so
    their plain-HTTP requests fall through to Caddy's automatic HTTP->HTTPS redirect."""
    hosts = [h.lower() for h in route.hosts]
    secure = [h for h in hosts if uses_https(h, listen)]
    plain = [h for h in hosts if h not in secure]
    matchers: list[dict[str, Any]] = [{"host": plain}] if plain else []
    if secure:
        matchers.append({"host": secure, "protocol": "https"})
    return matchers


def build_route(route: Route, listen: Listen) -> dict[str, Any]:
    if route.static_root is not None:
        handle: list[dict[str, Any]] = [
            {"handler": "file_server", "root": str(route.static_root)},
        ]
    elif route.upstream_port is not None:
        handle = [
            {
                "handler": "reverse_proxy",
                "upstreams": [{"dial": f"127.0.0.1:{route.upstream_port}"}],
            }
        ]
    else:
        raise ValueError(f"route for project {route.project_id} has neither port nor static root")
    return {
        "@id": route_id(route.project_id),
        "match": route_matchers(route, listen),
        "handle": handle,
        "terminal": True,
    }


def server_listen(routes: list[Route], listen: Listen) -> list[str]:
    addresses = [f"{listen.host}:{listen.http_port}"]
    if any(uses_https(h, listen) for r in routes for h in r.hosts):
        addresses.append(f"{listen.host}:{listen.https_port}")
    return addresses


def automatic_https(routes: list[Route], listen: Listen) -> dict[str, Any]:
    if len(server_listen(routes, listen)) == 1:
        return {"disable": True}  # HTTP port only: nothing to certify
    loopback = sorted({h.lower() for r in routes for h in r.hosts if not is_public_host(h)})
    return {"skip": loopback} if loopback else {}


def build_server(routes: list[Route], listen: Listen) -> dict[str, Any]:
    return {
        "@id": SERVER_ID,
        "listen": server_listen(routes, listen),
        "routes": [build_route(r, listen) for r in routes],
        "automatic_https": automatic_https(routes, listen),
    }


def build_http_app(routes: list[Route], listen: Listen) -> dict[str, Any]:
    """The whole `http` app, used when Caddy has none yet."""
    app: dict[str, Any] = {
        "http_port": listen.http_port,
        "servers": {SERVER_NAME: build_server(routes, listen)},
    }
    if listen.https_port:
        app["https_port"] = listen.https_port
    return app


# -- the whole config --------------------------------------------------------------------------
# NanoScale owns all of Caddy's routing: anything that could send traffic somewhere (another
# server, an app such as a layer4 proxy, a remote admin endpoint, a config loader) is dropped
# when the config is repaired. Only settings that route nothing survive: where Caddy stores
# certificates, its logs, and its certificate (`tls`) and CA (`pki`) apps.
KEPT_TOP_LEVEL = ("storage", "logging")
KEPT_APPS = ("tls", "pki")


def build_admin(current: Any, admin_listen: str) -> dict[str, Any]:
    """The admin section: only on NanoScale's socket; no remote admin, no config loader."""
    current = current if isinstance(current, dict) else {}
    admin: dict[str, Any] = {"listen": admin_listen}
    for key in ("origins", "enforce_origin"):
        if key in current:
            admin[key] = current[key]
    config = current.get("config")
    if isinstance(config, dict) and "persist" in config:
        admin["config"] = {"persist": config["persist"]}
    return admin


def whole_config(
    current: Any, routes: list[Route], listen: Listen, admin_listen: str
) -> dict[str, Any]:
    """`current` repaired: NanoScale's admin section and `http` app, plus what routes nothing."""
    current = current if isinstance(current, dict) else {}
    config: dict[str, Any] = {k: current[k] for k in KEPT_TOP_LEVEL if k in current}
    config["admin"] = build_admin(current.get("admin"), admin_listen)
    apps = current.get("apps") if isinstance(current.get("apps"), dict) else {}
    config["apps"] = {k: apps[k] for k in KEPT_APPS if k in apps}
    config["apps"]["http"] = build_http_app(routes, listen)
    return config


def config_matches(current: Any, routes: list[Route], listen: Listen, admin_listen: str) -> bool:
    return bool(current == whole_config(current, routes, listen, admin_listen))
