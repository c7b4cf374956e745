"""Choose the proxy backend from settings (`NANOSCALE_PROXY`)."""

from __future__ import annotations

from nanoscale.engine.proxy.base import Proxy
from nanoscale.engine.proxy.caddy import CaddyProxy
from nanoscale.engine.proxy.caddy_config import Listen
from nanoscale.engine.proxy.managed import ManagedCaddy, managed_paths
from nanoscale.engine.proxy.none import NoProxy
from nanoscale.settings import ProxyKind, Settings


def make_proxy(settings: Settings) -> Proxy:
    if settings.proxy == ProxyKind.CADDY:
        listen = Listen(
            host=settings.proxy_listen_host,
            http_port=settings.proxy_http_port,
            https_port=settings.proxy_https_port,
        )
        revive = None
        if settings.caddy_managed:  # NanoScale's own Caddy: start it again if it died
            revive = ManagedCaddy(managed_paths(settings.data_dir)).ensure_running
        return CaddyProxy(admin_socket=settings.caddy_admin_socket, listen=listen, revive=revive)
    return NoProxy()
