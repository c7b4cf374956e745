"""Shared setup for the webhook benchmarks: a served GitHub simulator, GitHub projects created
in-process (their repository hooks made on the simulator, pointing at the server to be), then a
real `nanoscale serve` child process on the same SQLite database and settings.

The projects are created before the server starts so the measured run sees only deliveries;
everything the server does with them goes through its real HTTP endpoint.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, select

from bench.github_bench_world import _linked_user
from nanoscale.context import build_context
from nanoscale.crypto import generate_key
from nanoscale.db.engine import make_engine, session_scope
from nanoscale.db.migrate import upgrade
from nanoscale.github import models as m
from nanoscale.github import projects
from nanoscale.github.credentials import register_github_credentials
from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.runtime import GATEWAY_KEY
from nanoscale.logs import configure_logging
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import GitHubSource, ProjectCreate
from nanoscale.settings import Settings, load_settings
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.fakes.github.state import Account, App, Repository
from tests.support.deploy import traversable_dir
from tests.support.github_app import github_overrides
from tests.support.served_nanoscale import WEBHOOK_PATH, ServedNanoScale, settings_env

APP_WEBHOOK_SECRET = "bench-app-webhook-secret-0123456789"


@dataclass
class LinkedProject:
    project_id: str
    name: str
    port: int  # the project's stable address (proxy `none` forwards it to the live release)
    repo: Repository
    hook_id: int  # the repository hook NanoScale made on the simulator


@dataclass
class ServedWorld:
    sim: GitHubSimulator
    served: ServedSimulator
    server: ServedNanoScale
    app: App
    alice: Account
    projects: list[LinkedProject]
    db: Engine  # the server's database, for checking what it recorded

    @property
    def webhook_url(self) -> str:
        return f"{self.server.url}{WEBHOOK_PATH}"


@contextmanager
def served_world(
    repos: int,
    *,
    files: dict[str, str | bytes | None],
    deferred_deliveries: bool,
    start_command: str = "python3 app.py",
    **settings: Any,
) -> Iterator[ServedWorld]:
    """`repos` private repositories of octo-alice, each with one NanoScale project on `main`.
    With `deferred_deliveries` the simulator sends nothing (the benchmark sends)."""
    with traversable_dir("nanoscale-bench-") as root:
        sim = GitHubSimulator(root=root / "github", deferred_deliveries=deferred_deliveries)
        alice = sim.add_user("octo-alice")
        server = ServedNanoScale(root / "serve")
        app = sim.add_app(alice, "nanoscale", webhook_url=f"{server.url}{WEBHOOK_PATH}",
                          callback_urls=[f"{server.url}/cb"])  # fmt: skip
        app.webhook_secret = APP_WEBHOOK_SECRET
        for i in range(repos):
            sim.add_repo(alice, f"repo-{i:03d}", private=True, files=files)
        installation = sim.install(app, alice)
        served = sim.serve()
        # Projects' own addresses from a block free now: other NanoScales on this host (tests)
        # use the default range, and a taken port leaves the release unforwarded.
        first = _free_block(repos)
        values = {
            **github_overrides(sim, served, app),
            "data_dir": root / "serve" / "var", "secret_key": generate_key(),
            "database_url": f"sqlite:///{root / 'nanoscale.db'}", "proxy": "none",
            "worker_enabled": False, "host": "127.0.0.1", "port": server.port,
            "public_base_url": server.url, "github_webhook_secret": APP_WEBHOOK_SECRET,
            "port_range_start": first, "port_range_end": first + repos,
            **settings,
        }  # fmt: skip
        config = load_settings(**values)
        linked = _create_projects(sim, app, alice, installation.id, config, start_command)
        server.env.update(settings_env(config))
        engine = make_engine(str(config.database_url))
        try:
            with server:
                yield ServedWorld(sim, served, server, app, alice, linked, engine)
        finally:
            engine.dispose()
            sim.deliverer.close()
            served.stop()


def _free_block(size: int) -> int:
    """The first of `size + 1` consecutive loopback ports that can all be bound now."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = int(probe.getsockname()[1])
        if first + size > 65535:
            continue
        try:
            with contextlib.ExitStack() as held:
                for port in range(first, first + size + 1):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first


def _create_projects(
    sim: GitHubSimulator,
    app: App,
    alice: Account,
    installation_id: int,
    settings: Settings,
    start_command: str,
) -> list[LinkedProject]:
    """Through NanoScale's own create-from-GitHub path (resolves the repository by id, makes
    the hook); the first deployment stays queued until a server's worker picks it up."""
    configure_logging(production=False, level="warning")  # a quiet set-up
    ctx = build_context(settings)
    gateway = GitHubGateway(ctx.settings, clock=sim.state.clock.now)
    try:
        upgrade(ctx.engine)
        ctx.components[GATEWAY_KEY] = gateway
        register_github_credentials()
        user = _linked_user(ctx, sim, app, alice)
        made = []
        for repo in sorted(sim.state.repos.values(), key=lambda r: r.name):
            source = GitHubSource(installation_id=installation_id, repo_id=repo.id)
            data = ProjectCreate(name=f"bench-{repo.name}", start_command=start_command,
                                 github_source=source)  # fmt: skip
            with session_scope(ctx.sessions) as db:
                project, _ = projects.create_and_deploy(db, ctx=ctx, owner=user, data=data,
                                                        ip=None)  # fmt: skip
                made.append((project.id, project.name, project.port, repo))
        linked = []
        with session_scope(ctx.sessions) as db:
            for project_id, name, port, repo in made:
                link = db.scalar(select(m.ProjectGitHubLink).filter_by(project_id=project_id))
                assert link is not None and link.webhook_id, f"no hook for {name}"
                assert db.get(Project, project_id) is not None
                linked.append(LinkedProject(project_id, name, port, repo, link.webhook_id))
        return linked
    finally:
        gateway.close()
        ctx.close()
