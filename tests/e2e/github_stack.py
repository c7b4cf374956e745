"""A real `nanoscale serve` wired to the served GitHub simulator, for the dashboard's GitHub
tests: the App's callback and setup URLs point at this server, and both the App's webhook and
the repository hooks NanoScale creates deliver over real HTTP to its webhook endpoint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from playwright.sync_api import Page, Response, expect

from tests.e2e.harness import NanoScaleServer, screenshot
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.fakes.github.state import Account, App, Repository
from tests.support.deploy import traversable_dir
from tests.support.github_app import python_app_files

WEBHOOK_SECRET = "e2e-app-webhook-secret-0123456789"


@dataclass
class GitHubStack:
    sim: GitHubSimulator
    served: ServedSimulator
    server: NanoScaleServer
    app: App
    alice: Account
    bob: Account
    app_repo: Repository  # octo-alice/app, private: the Python fixture app
    archived: Repository  # octo-alice/old-site, archived: listed, not selectable
    bobs_repo: Repository  # octo-bob/secret-plans, private: never shown to alice's user

    def secrets(self) -> list[str]:
        """Every secret the browser must never receive."""
        state = self.sim.state
        hook_secrets = [h.secret for r in state.repos.values() for h in r.hooks.values()]
        return [
            *state.installation_tokens, *state.user_tokens, *state.refresh_tokens,
            self.app.client_secret, WEBHOOK_SECRET, *[s for s in hook_secrets if s],
            self.app.private_key_pem.decode().splitlines()[1],  # a line of the key body
        ]  # fmt: skip


def build(sim: GitHubSimulator, server_url: str) -> tuple[App, Account, Account, list[Repository]]:
    alice, bob = sim.add_user("octo-alice"), sim.add_user("octo-bob")
    app_repo = sim.add_repo(alice, "app", private=True, files=python_app_files())
    archived = sim.add_repo(alice, "old-site", private=False)
    sim.archive_repo(archived)
    for n in range(12):  # more than one page of the picker
        sim.add_repo(alice, f"lib-{n:02d}", private=False)
    bobs_repo = sim.add_repo(bob, "secret-plans", private=True)
    app = sim.add_app(
        alice, "nanoscale",
        webhook_url=f"{server_url}/api/integrations/github/webhook",
        callback_urls=[f"{server_url}/api/integrations/github/callback"],
        setup_url=f"{server_url}/api/integrations/github/setup",
    )  # fmt: skip
    app.webhook_secret = WEBHOOK_SECRET
    return app, alice, bob, [app_repo, archived, bobs_repo]


@contextmanager
def github_stack(sim: GitHubSimulator, served: ServedSimulator) -> Iterator[GitHubStack]:
    with traversable_dir("nanoscale-e2e-gh-") as root:
        server = NanoScaleServer(root, git_hosts=[])
        app, alice, bob, (app_repo, archived, bobs_repo) = build(sim, server.url)
        server.env.update(
            NANOSCALE_PUBLIC_BASE_URL=server.url,
            NANOSCALE_GITHUB_APP_ID=str(app.id),
            NANOSCALE_GITHUB_APP_CLIENT_ID=app.client_id,
            NANOSCALE_GITHUB_APP_CLIENT_SECRET=app.client_secret,
            NANOSCALE_GITHUB_APP_PRIVATE_KEY_PATH=str(sim.private_key_file(app)),
            NANOSCALE_GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET,
            NANOSCALE_GITHUB_URL=served.base_url,
            NANOSCALE_GITHUB_API_URL=f"{served.base_url}/api/v3",
            NANOSCALE_HEALTH_CHECK_TIMEOUT_SECONDS="30",
        )
        with server:
            yield GitHubStack(sim, served, server, app, alice, bob, app_repo, archived,
                              bobs_repo)  # fmt: skip


@dataclass
class ResponseLog:
    """Every response the browser received from NanoScale (bodies read at the end)."""

    origin: str
    responses: list[Response] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("response", self._seen)

    def _seen(self, response: Response) -> None:
        if response.url.startswith(self.origin):
            self.responses.append(response)

    def leaks(self, secrets: list[str]) -> list[str]:
        found = []
        for response in self.responses:
            try:
                body = response.text()
            except Exception:
                body = ""
            seen = body + " ".join(f"{k}: {v}" for k, v in response.headers.items())
            seen += response.url
            found += [f"{response.url}: {s[:6]}…" for s in secrets if s and s in seen]
        return found


def connect_github(page: Page, stack: GitHubStack, *, shots: str) -> None:
    """Settings → Connect GitHub → GitHub's consent page → back; then install the App on
    octo-alice for the private repository (and the archived one and the libraries)."""
    page.goto("/settings")
    expect(page.locator("[data-github-card]")).to_have_attribute(
        "data-github-state", "disconnected"
    )
    screenshot(page, f"{shots}-01-settings-disconnected")
    page.get_by_role("button", name="Connect GitHub").click()
    page.wait_for_url(f"{stack.served.base_url}/login/oauth/authorize?**")
    screenshot(page, f"{shots}-02-github-authorize")
    page.select_option("select[name=login]", "octo-alice")
    page.click("button[value=authorize]")
    page.wait_for_url(re.compile(r"/settings\?github=connected"))
    expect(page.locator("[data-github-login]")).to_have_text("octo-alice")
    expect(page.locator("[data-github-notice]")).to_contain_text("GitHub connected")
    screenshot(page, f"{shots}-03-settings-connected")
    page.locator("[data-github-manage]").click()
    page.wait_for_url(f"{stack.served.base_url}/apps/nanoscale/installations/new**")
    page.click("a.account[data-login=octo-alice]")
    screenshot(page, f"{shots}-04-github-install")
    page.click("button[type=submit]")  # all repositories
    page.wait_for_url(re.compile(r"/settings\?github=installed"))
    expect(page.locator("[data-github-installations]")).to_contain_text("octo-alice")
    screenshot(page, f"{shots}-05-settings-installed")
