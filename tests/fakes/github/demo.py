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


APP_PY = """\
\"\"\"{name}: a tiny web app NanoScale can deploy (start command: python3 app.py).\"\"\"
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"Hello from {name}!\\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, format, *args):
        print(self.address_string(), format % args, flush=True)


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def _app_files(name: str) -> dict[str, str | bytes | None]:
    """A deployable app: answers every GET with 200 on $PORT (NanoScale's contract)."""
    readme = f"# {name}\n\nDeploy with the start command `python3 app.py`.\n"
    return {"README.md": readme, "app.py": APP_PY.replace("{name}", name)}
