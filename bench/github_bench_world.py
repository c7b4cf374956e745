"""Shared setup for the GitHub benchmarks: a served simulator, NanoScale on SQLite aimed at it,
and a NanoScale user already linked to octo-alice (tokens minted by the simulator)."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nanoscale.accounts.models import User
from nanoscale.context import AppContext, build_context
from nanoscale.crypto import generate_key
from nanoscale.db.base import new_id
from nanoscale.db.engine import session_scope
from nanoscale.db.migrate import upgrade
from nanoscale.github import models as m
from nanoscale.github.credentials import register_github_credentials
from nanoscale.github.gateway import GitHubGateway, TokenGrant
from nanoscale.github.runtime import GATEWAY_KEY
from nanoscale.github.user_tokens import store_grant
from nanoscale.settings import load_settings
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.fakes.github.state import Account, App, Installation
from tests.support.github_app import github_overrides


@dataclass
class BenchWorld:
    sim: GitHubSimulator
    served: ServedSimulator
    ctx: AppContext
    gateway: GitHubGateway
    user: User
    alice: Account
    app: App
    installation: Installation


@contextmanager
def bench_world(
    repos: int, *, files: dict[str, str | bytes | None] | None = None, **settings: Any
) -> Iterator[BenchWorld]:
    with tempfile.TemporaryDirectory(prefix="nanoscale-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o711)
        sim = GitHubSimulator(root=root / "github")
        alice = sim.add_user("octo-alice")
        for i in range(repos):
            sim.add_repo(alice, f"repo-{i:05d}", private=i % 2 == 0, files=files or {})
        app = sim.add_app(alice, "nanoscale", callback_urls=["http://testserver/cb"])
        installation = sim.install(app, alice)
        served = sim.serve()
        values = {
            "data_dir": root / "var", "secret_key": generate_key(), "worker_enabled": False,
            "proxy": "none",
            "database_url": f"sqlite:///{root / 'nanoscale.db'}",
            **github_overrides(sim, served, app), **settings,
        }  # fmt: skip
        ctx = build_context(load_settings(**values))
        upgrade(ctx.engine)
        gateway = GitHubGateway(ctx.settings, clock=sim.state.clock.now)
        ctx.components[GATEWAY_KEY] = gateway
        register_github_credentials()
        user = _linked_user(ctx, sim, app, alice)
        try:
            yield BenchWorld(sim, served, ctx, gateway, user, alice, app, installation)
        finally:
            gateway.close()
            ctx.close()
            served.stop()


def _linked_user(ctx: AppContext, sim: GitHubSimulator, app: App, alice: Account) -> User:
    access, refresh = sim.mint_user_token(app, alice)
    grant = TokenGrant(access.token, refresh.token, access.expires_at, refresh.expires_at)
    with session_scope(ctx.sessions) as db:
        user = User(username="alice", password_hash="x")
        db.add(user)
        db.flush()
        link = m.GitHubUserLink(id=new_id(), local_user_id=user.id, github_user_id=alice.id,
                                github_login=alice.login)  # fmt: skip
        store_grant(link, grant, ctx=ctx)
        db.add(link)
        db.flush()
        db.expunge(user)
    return user
