"""What `serve` does about the proxy before it starts: run NanoScale's own Caddy when no
system Caddy is configured (the embedded default), and say plainly where apps are served.

Where Caddy cannot run (not installed, its port taken), NanoScale says so and serves without
a proxy (`NANOSCALE_PROXY=none` behaviour) rather than showing URLs nothing answers.
"""

from __future__ import annotations

from nanoscale.db.files import prepare_data_dir
from nanoscale.engine.proxy.managed import ManagedCaddy, managed_paths
from nanoscale.errors import PlatformError
from nanoscale.settings import Settings


def apps_address(settings: Settings) -> str:
    port = settings.proxy_http_port
    return f"http://<project>.{settings.base_domain}" + ("" if port == 80 else f":{port}")


def start_proxy(settings: Settings) -> tuple[Settings, str]:
    """The settings to serve with (the proxy may fall back to none) and a line for the user."""
    if settings.proxy != "caddy":
        return settings, "apps: no reverse proxy (NANOSCALE_PROXY=none), each on its own port"
    if not settings.caddy_managed:
        return settings, f"apps: {apps_address(settings)} (Caddy on {settings.caddy_admin_socket})"
    prepare_data_dir(settings.data_dir)
    managed = ManagedCaddy(managed_paths(settings.data_dir))
    try:
        started = managed.ensure_running()
    except PlatformError as exc:
        fallback = settings.model_copy(update={"proxy": "none"})
        return fallback, (
            f"warning: NanoScale's Caddy cannot run here: {exc.message}\n"
            "  apps are served WITHOUT a reverse proxy; install caddy (apt-get install caddy) "
            "or free the port for stable http://<project>.localhost URLs"
        )
    how = "started" if started else "already running, adopted"
    return settings, f"apps: {apps_address(settings)} (NanoScale's Caddy, {how})"
