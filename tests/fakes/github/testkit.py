"""Client-side helpers for tests: the consent page without a browser, PKCE, git with a token."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from .receiver import Received, WebhookReceiver
from .simulator import GitHubSimulator
from .state import Account, App, Installation, Repository

CALLBACK = "http://127.0.0.1:9/github/callback"


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def form_fields(html: str) -> dict[str, str]:
    """Hidden inputs of the first form on a page."""
    pattern = r'<input type="hidden" name="([^"]+)" value="([^"]*)">'
    return {name: unescape(value) for name, value in re.findall(pattern, html)}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def consent(
    web: httpx.Client, app: App, login: str, *, redirect_uri: str, state: str, pkce: Pkce | None
) -> dict[str, str]:
    """Walk the consent page as a browser would; returns the callback's query (code, state)."""
    params = {"client_id": app.client_id, "redirect_uri": redirect_uri, "state": state}
    if pkce is not None:
        params |= {"code_challenge": pkce.challenge, "code_challenge_method": "S256"}
    page = web.get(f"/login/oauth/authorize?{urlencode(params)}")
    page.raise_for_status()
    fields = form_fields(page.text) | {"login": login, "decision": "authorize"}
    answer = web.post("/login/oauth/authorize", data=fields)
    assert answer.status_code == 302, answer.text
    return query_of(answer.headers["location"])


def exchange(web: httpx.Client, app: App, **params: str) -> dict[str, str]:
    """POST /login/oauth/access_token asking for JSON (GitHub answers errors with 200 too)."""
    body = {"client_id": app.client_id, "client_secret": app.client_secret, **params}
    resp = web.post("/login/oauth/access_token", data=body, headers={"Accept": "application/json"})
    assert resp.status_code == 200, resp.text
    result: dict[str, str] = resp.json()
    return result


def git_env(base_url: str, token: str | None, home: Path) -> dict[str, str]:
    """Credentials via config-from-environment: never in argv, URLs or .git/config."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_COUNT": "0",
    }
    if token is not None:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env |= {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{base_url}/.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
    return env


def git(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@dataclass
class World:
    """A small world most focused tests start from."""

    alice: Account
    bob: Account
    org: Account
    private: Repository  # alice/app, private
    public: Repository  # alice/site, public
    app: App
    installation: Installation  # the App on alice's account, all repositories


def small_world(sim: GitHubSimulator, *, webhook_url: str | None = None) -> World:
    alice, bob = sim.add_user("alice"), sim.add_user("bob")
    org = sim.add_org("acme", admins=[alice], members=[bob])
    private = sim.add_repo(alice, "app", private=True)
    public = sim.add_repo(alice, "site", private=False)
    app = sim.add_app(alice, "nanoscale", webhook_url=webhook_url, callback_urls=[CALLBACK])
    installation = sim.install(app, alice)
    return World(alice, bob, org, private, public, app, installation)


def settled(
    sim: GitHubSimulator, receiver: WebhookReceiver, event: str, path: str | None = None
) -> list[Received]:
    """Wait for in-flight deliveries, then the receiver's `event`s in the order they happened.

    Deliveries are concurrent, so they may arrive in any order (as on GitHub)."""
    sim.deliveries.wait_idle()
    received = receiver.events(event, path)
    order: dict[str, int] = {}
    for n, delivery in enumerate(sim.state.deliveries):
        order.setdefault(delivery.guid, n)
    return sorted(received, key=lambda r: order.get(r.guid, len(order)))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
