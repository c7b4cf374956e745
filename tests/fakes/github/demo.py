"""A seeded demo world: one App, two users, an organization, public and private repositories."""

from __future__ import annotations

from .simulator import GitHubSimulator
from .state import App

DEMO_USERS = ("octo-alice", "octo-bob")


def seed_demo(sim: GitHubSimulator, *, nanoscale_url: str = "http://127.0.0.1:8000") -> App:
    alice, bob = (sim.add_user(login) for login in DEMO_USERS)
    acme = sim.add_org("acme-corp", admins=[alice], members=[bob])
    sim.add_repo(alice, "hello-web", private=True, files=_app_files("hello-web"))
    sim.add_repo(alice, "blog", private=False, files=_app_files("blog"))
    api = sim.add_repo(acme, "api", private=True, files=_app_files("api"))
    sim.add_repo(acme, "website", private=False, files=_app_files("website"))
    sim.add_repo(bob, "scratch", private=True)
    sim.add_collaborator(api, bob, "read")
    return sim.add_app(
        alice,
        "nanoscale-dev",
        webhook_url=f"{nanoscale_url}/api/integrations/github/webhook",
        callback_urls=[f"{nanoscale_url}/api/integrations/github/callback"],
        setup_url=f"{nanoscale_url}/api/integrations/github/setup",
    )


def _app_files(name: str) -> dict[str, str | bytes | None]:
    return {
        "README.md": f"# {name}\n",
        "app.py": ("import http.server, os\nhttp.server.test(port=int(os.environ['PORT']))\n"),
    }
