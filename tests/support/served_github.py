"""The GitHub integration end to end over real sockets: the served simulator and a real
`nanoscale serve` (worker on, process runtime, no proxy) on the test's database. The App's
webhook and the repository hooks NanoScale creates deliver to it over HTTP; people are plain
HTTP clients of it (`GitHubHarness` with `base_url`), and `gh.ctx` reads the same database.

`served_github_stack` is a module-scoped fixture over SQLite and PostgreSQL (import it into a
test module): starting a server, connecting GitHub and deploying the first release costs seconds,
so a module shares one stack and its tests leave it as they found it (one live project, "shop").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from nanoscale.crypto import generate_key
from nanoscale.db.engine import session_scope
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.states import FINAL_STATES
from nanoscale.settings import load_settings
from tests.fakes.github.recording import SpecRecorder
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.support.deploy import traversable_dir
from tests.support.github_app import WEBHOOK_SECRET, GitHubHarness, Person, github_harness
from tests.support.postgres import create_database
from tests.support.served_nanoscale import ServedNanoScale, deliver_over_http, settings_env

DEPLOY_LIMIT_SECONDS = 120  # a readiness bound for a build and start, not a speed assertion
SERVED = {
    "worker_enabled": True,
    "runtime": "process",
    "proxy": "none",
    "drain_seconds": 0.2,
    "worker_poll_seconds": 0.1,
    "health_check_timeout_seconds": 30,
    "verify_git_source": False,
}


@dataclass
class ServedGitHub:
    gh: GitHubHarness
    server: ServedNanoScale
    alice: Person
    project: dict[str, Any]  # "shop" on octo-alice/app, live

    def deployments(self) -> list[Deployment]:
        with session_scope(self.gh.ctx.sessions) as db:
            query = select(Deployment).where(Deployment.project_id == self.project["id"])
            return list(db.scalars(query.order_by(Deployment.queued_at)))

    def wait_deliveries(self) -> None:
        assert self.gh.sim.deliverer.wait_idle(60), "deliveries still in flight"

    def wait_settled(self, deployment_id: str) -> str:
        """Wait until the deployment ended; returns its final state."""
        deadline = time.monotonic() + DEPLOY_LIMIT_SECONDS
        while True:
            with session_scope(self.gh.ctx.sessions) as db:
                state = str(db.get_one(Deployment, deployment_id).state)
            if state in FINAL_STATES:
                return state
            assert time.monotonic() < deadline, f"{deployment_id} still {state}"
            time.sleep(0.1)

    def serving(self, deployment_id: str) -> str:
        """What the deployment's release answers (the fixture app: "<version> <commit>")."""
        with session_scope(self.gh.ctx.sessions) as db:
            port = db.get_one(Deployment, deployment_id).release_port
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text.strip()


@contextmanager
def served_github(
    sim: GitHubSimulator, served: ServedSimulator, root: Path, *, database_url: str
) -> Iterator[ServedGitHub]:
    """Serve, connect octo-alice, install on all her repositories, create "shop" from the
    private octo-alice/app and wait until it is live."""

    def make_settings(**overrides: Any) -> Any:
        values = {"data_dir": root / "var", "secret_key": generate_key(), **SERVED}
        return load_settings(**{**values, **overrides, "database_url": database_url})

    with github_harness(make_settings, sim, served) as gh:
        server = ServedNanoScale(root, settings_env(gh.settings))
        server.env["NANOSCALE_PUBLIC_BASE_URL"] = server.url
        app = gh.world.app
        app.callback_urls = [f"{server.url}/api/integrations/github/callback"]
        app.setup_url = f"{server.url}/api/integrations/github/setup"
        deliver_over_http(sim, app, server, WEBHOOK_SECRET)
        gh.base_url = server.url
        with server:
            try:
                yield _with_project(gh, server)
            except BaseException:
                print(server.output()[-20_000:])  # the server's side of a failure
                raise
            finally:
                sim.deliverer.wait_idle(60)


def _with_project(gh: GitHubHarness, server: ServedNanoScale) -> ServedGitHub:
    alice, project = gh.create_shop()
    stack = ServedGitHub(gh, server, alice, project)
    state = stack.wait_settled(stack.project["deployment_id"])
    assert state == "live", server.output()
    return stack


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served_github_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedGitHub]:
    recorder = SpecRecorder()
    sim = GitHubSimulator(root=tmp_path_factory.mktemp("github"), recorder=recorder)
    served = sim.serve()
    try:
        with traversable_dir("nanoscale-served-gh-") as root:
            if request.param == "sqlite":
                url = f"sqlite:///{root / 'nanoscale.db'}"
            else:
                url = create_database(request.getfixturevalue("postgres_admin_url"))
            with served_github(sim, served, root, database_url=url) as stack:
                yield stack
    finally:
        served.stop()
        sim.close()
    recorder.assert_clean()
