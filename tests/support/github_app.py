"""NanoScale wired to the served GitHub simulator, for the GitHub integration tests.

`GitHubHarness` builds a small GitHub world (octo-alice, octo-bob, octo-carol, the org
octo-org, private and public repositories, the NanoScale App), NanoScale settings aimed at the
simulator, one TestClient per NanoScale user, and helpers that walk GitHub's authorize and
install pages as a browser would. NanoScale's own outgoing GitHub requests go through a
`RecordingTransport`, so each is validated against GitHub's OpenAPI description.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi.testclient import TestClient

from nanoscale.app import create_app
from nanoscale.context import AppContext, build_context
from nanoscale.db.migrate import upgrade
from nanoscale.deployments.worker.loop import Worker
from nanoscale.github.gateway import GitHubGateway
from nanoscale.github.runtime import GATEWAY_KEY
from nanoscale.settings import Settings
from tests.fakes.github import RecordingTransport, SpecRecorder
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.fakes.github.state import Account, App, Repository
from tests.fakes.github.testkit import form_fields, query_of
from tests.support.api import ADMIN, create_user, login, setup_admin

PUBLIC = "http://testserver"
APPS = Path(__file__).resolve().parent.parent / "fixtures" / "apps"
PASSWORD = "correct horse battery"
WEBHOOK_SECRET = "webhook-secret-for-tests"


def python_app_files(version: str = "v1") -> dict[str, str | bytes | None]:
    return {
        "app.py": (APPS / "python" / "app.py").read_text(),
        "version.txt": version + "\n",
    }


@dataclass
class GitHubWorld:
    alice: Account
    bob: Account
    carol: Account
    org: Account
    app_repo: Repository  # octo-alice/app, private, a Python web app
    site: Repository  # octo-alice/site, public
    platform: Repository  # octo-org/platform, private
    app: App


def build_world(sim: GitHubSimulator) -> GitHubWorld:
    alice, bob, carol = (sim.add_user(n) for n in ("octo-alice", "octo-bob", "octo-carol"))
    org = sim.add_org("octo-org", admins=[alice], members=[bob], base_permission="read")
    app_repo = sim.add_repo(alice, "app", private=True, files=python_app_files())
    site = sim.add_repo(alice, "site", private=False)
    platform = sim.add_repo(org, "platform", private=True)
    app = sim.add_app(
        alice,
        "nanoscale",
        callback_urls=[f"{PUBLIC}/api/integrations/github/callback"],
        setup_url=f"{PUBLIC}/api/integrations/github/setup",
    )
    return GitHubWorld(alice, bob, carol, org, app_repo, site, platform, app)


def github_overrides(sim: GitHubSimulator, served: ServedSimulator, app: App) -> dict[str, Any]:
    return {
        "github_app_id": app.id,
        "github_app_client_id": app.client_id,
        "github_app_client_secret": app.client_secret,
        "github_app_private_key_path": sim.private_key_file(app),
        "github_webhook_secret": WEBHOOK_SECRET,
        "public_base_url": PUBLIC,
        "github_url": served.base_url,
        "github_api_url": f"{served.base_url}/api/v3",
        "git_allowed_hosts": "",
    }


@dataclass
class Person:
    """A NanoScale user's browser: a TestClient with its own session cookie."""

    username: str
    client: httpx.Client  # a TestClient, or a plain client of a served NanoScale
    headers: dict[str, str]  # CSRF header for the cookie session


@dataclass
class GitHubHarness:
    sim: GitHubSimulator
    served: ServedSimulator
    world: GitHubWorld
    ctx: AppContext
    gateway: GitHubGateway
    recorder: SpecRecorder
    people: dict[str, Person] = field(default_factory=dict)
    _clients: list[httpx.Client] = field(default_factory=list)
    _web: httpx.Client | None = None
    _worker: Worker | None = None
    base_url: str | None = None  # set: people talk to this served NanoScale over HTTP

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    def _client(self) -> httpx.Client:
        client: httpx.Client
        if self.base_url is not None:
            client = httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=30)
        else:
            client = TestClient(create_app(self.settings, context=self.ctx), follow_redirects=False)
        client.__enter__()
        self._clients.append(client)
        return client

    def person(self, username: str) -> Person:
        """A logged-in NanoScale user (the first one is the admin made by first-run setup)."""
        if username in self.people:
            return self.people[username]
        client = self._client()
        if not self.people:
            setup_admin(client, username, PASSWORD)
        else:
            admin = next(iter(self.people.values()))
            create_user(admin.client, admin.headers, username, PASSWORD)
        person = Person(username, client, login(client, username, PASSWORD))
        self.people[username] = person
        return person

    def authorize(self, person: Person, github_login: str, *, decision: str = "authorize") -> str:
        """POST /start, walk GitHub's consent page; returns the callback URL GitHub sent."""
        started = person.client.post("/api/integrations/github/start", headers=person.headers)
        assert started.status_code == 200, started.text
        return self.consent(started.json()["url"], github_login, decision=decision)

    def consent(self, url: str, github_login: str, *, decision: str = "authorize") -> str:
        parts = urlsplit(url)
        web = self.sim_web()
        page = web.get(f"{parts.path}?{parts.query}")
        assert page.status_code == 200, page.text
        fields = form_fields(page.text) | {"login": github_login, "decision": decision}
        answer = web.post("/login/oauth/authorize", data=fields)
        assert answer.status_code == 302, answer.text
        return str(answer.headers["location"])

    def finish(self, person: Person, callback_url: str) -> dict[str, str]:
        """Follow GitHub's redirect back to NanoScale; returns the dashboard redirect's query."""
        parts = urlsplit(callback_url)
        response = person.client.get(f"{parts.path}?{parts.query}")
        assert response.status_code == 303, response.text
        return query_of(response.headers["location"])

    def connect(self, person: Person, github_login: str) -> dict[str, str]:
        return self.finish(person, self.authorize(person, github_login))

    def install(
        self,
        person: Person,
        github_login: str,
        account: Account,
        repos: list[Repository] | None = None,
    ) -> tuple[int, dict[str, str]]:
        """Install the App on `account` through GitHub's pages, then follow the Setup URL."""
        form: list[tuple[str, str]] = [
            ("target_id", str(account.id)),
            ("login", github_login),
            ("repository_selection", "all" if repos is None else "selected"),
        ]
        form += [("repository_ids", str(r.id)) for r in repos or []]
        answer = self.sim_web().post(
            f"/apps/{self.world.app.slug}/installations",
            content=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 302, answer.text
        setup = urlsplit(answer.headers["location"])
        installation_id = int(query_of(answer.headers["location"])["installation_id"])
        response = person.client.get(f"{setup.path}?{setup.query}")
        assert response.status_code == 303, response.text
        return installation_id, query_of(response.headers["location"])

    def create_shop(self) -> tuple[Person, dict[str, Any]]:
        """alice connects as octo-alice, installs the App on all her repositories and creates
        the project "shop" from the private octo-alice/app; returns her and the project."""
        alice = self.person("alice")
        self.connect(alice, "octo-alice")
        installation_id, _ = self.install(alice, "octo-alice", self.world.alice)
        source = {"installation_id": installation_id, "repo_id": self.world.app_repo.id}
        body = {"name": "shop", "start_command": "python3 app.py", "github_source": source}
        created = alice.client.post("/api/projects", json=body, headers=alice.headers)
        assert created.status_code == 201, created.text
        return alice, created.json()

    def deliver_to_nanoscale(self) -> None:
        """The simulator's webhook deliveries reach this NanoScale (App and repository hooks)."""
        receiver = self._client()
        self.world.app.webhook_url = f"{PUBLIC}/api/integrations/github/webhook"
        self.world.app.webhook_secret = WEBHOOK_SECRET

        lock = threading.Lock()  # one TestClient: its requests are not meant to overlap

        def _post(
            url: str, headers: dict[str, str], body: bytes
        ) -> tuple[int, dict[str, str], str]:
            with lock:
                answer = receiver.post(urlsplit(url).path, content=body, headers=headers)
            return answer.status_code, dict(answer.headers), answer.text

        self.sim.deliverer.transport = _post

    def sim_web(self) -> httpx.Client:
        if self._web is None:
            self._web = httpx.Client(base_url=self.served.base_url, timeout=10)
        return self._web

    def worker(self) -> Worker:
        if self._worker is None:
            self._worker = Worker(self.ctx)
        return self._worker

    def run_until_idle(self) -> int:
        ran = 0
        while self.worker().run_once():
            ran += 1
        return ran

    def all_tokens(self) -> list[str]:
        """Every credential the simulated GitHub ever issued (for leak checks)."""
        state = self.sim.state
        return [*state.installation_tokens, *state.user_tokens, *state.refresh_tokens]

    def close(self) -> None:
        if self._web is not None:
            self._web.close()
        for client in self._clients:
            client.__exit__(None, None, None)
        if self._worker is not None:
            runtime = self._worker.backends.runtime
            stop_all = getattr(runtime, "stop_all", None)
            if stop_all is not None:
                stop_all(grace_seconds=2)
            self._worker.backends.close()
        self.gateway.close()
        self.ctx.close()


@contextmanager
def github_harness(
    make_settings: Callable[..., Settings],
    sim: GitHubSimulator,
    served: ServedSimulator,
    gateway_timeout: float = 10.0,
    **overrides: Any,
) -> Iterator[GitHubHarness]:
    world = build_world(sim)
    settings = make_settings(**{**github_overrides(sim, served, world.app), **overrides})
    ctx = build_context(settings)
    upgrade(ctx.engine)
    recorder = SpecRecorder(check_requests=True, in_summary=False)
    gateway = GitHubGateway(
        settings, transport=RecordingTransport(recorder), clock=sim.state.clock.now,
        sleep=lambda _s: None, timeout=gateway_timeout,
    )  # fmt: skip
    ctx.components[GATEWAY_KEY] = gateway
    harness = GitHubHarness(sim, served, world, ctx, gateway, recorder)
    try:
        yield harness
    finally:
        harness.close()


__all__ = ["ADMIN", "GitHubHarness", "github_harness"]
