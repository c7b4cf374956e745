"""What `serve` does about the proxy before it starts: run NanoScale's own Caddy when no
system Caddy is configured (the embedded default), and say plainly where apps are served.

Where Caddy cannot run (not installed, its port taken), NanoScale says so and serves without
Caddy: each project is then reached on its own loopback port (the project's `port`), which
stays the same across redeploys and rollbacks (engine/proxy/none.py).
"""

from __future__ import annotations

from nanoscale.cli.host_checks import port_free
from nanoscale.db.files import prepare_data_dir
from nanoscale.engine.proxy.managed import ManagedCaddy, managed_paths
from nanoscale.errors import PlatformError
from nanoscale.settings import ProxyKind, Settings


def apps_address(settings: Settings) -> str:
    port = settings.proxy_http_port
    return f"http://<project>.{settings.base_domain}" + ("" if port == 80 else f":{port}")


def _check_port(settings: Settings) -> None:
    host = settings.proxy_listen_host or "0.0.0.0"  # noqa: S104 (what Caddy will bind)
    if not port_free(host, settings.proxy_http_port):
        raise PlatformError(
            f"port {settings.proxy_http_port} is in use (set NANOSCALE_PROXY_HTTP_PORT)",
            code="proxy_unavailable",
        )


def start_proxy(settings: Settings) -> tuple[Settings, str]:
    """The settings to serve with (the proxy may fall back to none) and a line for the user."""
    if settings.proxy != ProxyKind.CADDY:
        return settings, "apps: no reverse proxy (NANOSCALE_PROXY=none), each on its own port"
    if not settings.caddy_managed:
        return settings, f"apps: {apps_address(settings)} (Caddy on {settings.caddy_admin_socket})"
    prepare_data_dir(settings.data_dir)
    managed = ManagedCaddy(managed_paths(settings.data_dir))
    try:
        if not managed.answers():
            _check_port(settings)
        started = managed.ensure_running()
    except PlatformError as exc:
        fallback = settings.model_copy(update={"proxy": ProxyKind.NONE})
        return fallback, (
            f"warning: NanoScale's Caddy cannot run here: {exc.message}\n"
            "  apps are served WITHOUT Caddy, each on its own port: http://127.0.0.1:<project "
            "port> (the same across redeploys; see the project's URL)"
        )
    how = "started" if started else "already running, adopted"
    return settings, f"apps: {apps_address(settings)} (NanoScale's Caddy, {how})"
