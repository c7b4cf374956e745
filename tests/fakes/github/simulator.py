"""The simulator facade: world building, pushes and lifecycle on one object, its ASGI app,
and a served variant (uvicorn on a loopback port in a background thread)."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from . import (
    avatars,
    githttp,
    install_flow,
    manifest_flow,
    rest_app_hook,
    rest_apps,
    rest_deployment_statuses,
    rest_deployments,
    rest_hook_config,
    rest_hooks,
    rest_oauth,
    rest_repos,
    rest_statuses,
    rest_users,
    sim_api,
    sim_api_apps,
    webflow,
)
from .authorizations import Authorizations
from .delivery import Deliverer, DeliveryCallable
from .http import ANY_METHOD, unknown_route
from .lifecycle import Lifecycle
from .limits import Faults, RateLimits
from .middleware import GitHubMiddleware
from .pushes import Pushes
from .recording import SpecCheckMiddleware, SpecRecorder
from .state import App, SimState


class GitHubSimulator(Lifecycle, Pushes, Authorizations):  # Lifecycle builds on WorldBuilder
    """In-memory GitHub. Use `.app` with httpx.ASGITransport, or `serve()` for a real port."""

    def __init__(
        self,
        *,
        root: Path | None = None,
        base_url: str = "http://github.localhost",
        recorder: SpecRecorder | None = None,
        delivery_transport: httpx.BaseTransport | DeliveryCallable | None = None,
        deferred_deliveries: bool = False,
    ) -> None:
        self._owns_root = root is None
        self.root = root or Path(tempfile.mkdtemp(prefix="github-sim-"))
        self.state = SimState(root=self.root, base_url=base_url)
        self.rate_limits = RateLimits(self.state.clock)
        self.faults = Faults()
        self.deliverer = Deliverer(
            self.state, transport=delivery_transport, deferred=deferred_deliveries
        )
        self.recorder = recorder
        if recorder is not None:
            self.deliverer.listeners.append(
                lambda d: recorder.check_webhook(d.request_headers, d.body, signed=bool(d.secret))
            )
        self.app = self._build_app()

    def _build_app(self) -> Starlette:
        routes = [
            *rest_users.routes,
            *rest_apps.routes,
            *rest_app_hook.routes,
            *rest_hooks.routes,
            *rest_hook_config.routes,
            *rest_statuses.routes,  # before rest_repos (see there)
            *rest_repos.routes,
            *rest_oauth.routes,
            *rest_deployments.routes,
            *rest_deployment_statuses.routes,
            *webflow.routes,
            *install_flow.routes,
            *manifest_flow.routes,
            *sim_api_apps.routes,  # before sim_api: /_sim/installations/{id}/{action}
            *sim_api.routes,
            *avatars.routes,
            Route("/api/v3/{path:path}", unknown_route, methods=ANY_METHOD),  # after all REST
            *githttp.routes,  # last: its /{owner}/{repo}.git/... pattern is the broadest
        ]
        middleware = [Middleware(GitHubMiddleware, sim=self)]
        if self.recorder is not None:
            middleware.insert(0, Middleware(SpecCheckMiddleware, recorder=self.recorder))
        app = Starlette(routes=routes, middleware=middleware)
        app.state.sim = self
        return app

    @property
    def deliveries(self) -> Deliverer:
        """Delivery machinery (`wait_idle`, `faults`, `flush`); the log is `state.deliveries`."""
        return self.deliverer

    @property
    def api_url(self) -> str:
        return self.state.api_url

    def private_key_file(self, app: App) -> Path:
        path = self.root / f"{app.slug}.private-key.pem"
        path.write_bytes(app.private_key_pem)
        path.chmod(0o600)
        return path

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary of the world (for /_sim/world and the demo banner)."""
        st = self.state
        return {
            "base_url": st.base_url,
            "api_url": st.api_url,
            "apps": [
                {"id": a.id, "slug": a.slug, "client_id": a.client_id, "webhook_url": a.webhook_url}
                for a in st.apps.values()
            ],
            "users": [a.login for a in st.accounts.values() if a.type == "User"],
            "organizations": [a.login for a in st.accounts.values() if a.type == "Organization"],
            "repositories": [
                {"id": r.id, "full_name": r.full_name, "private": r.private}
                for r in st.repos.values()
                if not r.deleted
            ],
            "installations": [
                {"id": i.id, "account": i.account.login, "selection": i.repository_selection}
                for i in st.live_installations()
            ],
        }

    def close(self) -> None:
        self.deliverer.close()
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> ServedSimulator:
        return ServedSimulator(self, host, port).start()


class ServedSimulator:
    """uvicorn in a daemon thread; sets the simulator's base URL to the bound address."""

    def __init__(self, sim: GitHubSimulator, host: str, port: int) -> None:
        self.sim, self.host = sim, host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            sim.app, log_level="warning", lifespan="off", ws="none", http="h11",
            timeout_graceful_shutdown=1, access_log=False,
            date_header=False,  # the simulator's clock dates responses (middleware.py)
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServedSimulator:
        self.sim.state.base_url = self.base_url
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("simulator server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> ServedSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
