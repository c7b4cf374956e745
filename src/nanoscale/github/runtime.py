"""The process's one `GitHubGateway`, kept in the application context's components."""

from __future__ import annotations

import threading

from nanoscale.context import AppContext
from nanoscale.github.errors import GitHubNotConfigured
from nanoscale.github.gateway import GitHubGateway

GATEWAY_KEY = "github.gateway"
_LOCK = threading.Lock()


def gateway_for(ctx: AppContext) -> GitHubGateway:
    """The configured gateway (tests may register their own under GATEWAY_KEY first)."""
    if not ctx.settings.github_configured:
        raise GitHubNotConfigured(
            "the GitHub integration is not configured on this server (see docs/github.md)"
        )
    with _LOCK:
        gateway = ctx.components.get(GATEWAY_KEY)
        if gateway is None:
            gateway = ctx.components[GATEWAY_KEY] = GitHubGateway(ctx.settings)
    assert isinstance(gateway, GitHubGateway)
    return gateway
