"""Registering a GitHub App from a manifest, through the pages and the conversion endpoint."""

from __future__ import annotations

import json

import httpx
import jwt

from tests.fakes.github import GitHubSimulator, sign
from tests.fakes.github.receiver import WebhookReceiver
from tests.fakes.github.testkit import bearer, form_fields, query_of, small_world

REDIRECT = "http://127.0.0.1:9/github/manifest-done"


def _manifest(hook_url: str, name: str = "NanoScale Prod") -> str:
    return json.dumps(
        {
            "name": name,
            "url": "https://nanoscale.example",
            "hook_attributes": {"url": hook_url},
            "redirect_url": REDIRECT,
            "callback_urls": ["https://nanoscale.example/callback"],
            "setup_url": "https://nanoscale.example/setup",
            "public": False,
            "default_permissions": {"contents": "read", "metadata": "read"},
            "default_events": ["push"],
        }
    )


def _register(web: httpx.Client, path: str, manifest: str, login: str) -> httpx.Response:
    form = web.post(path, data={"manifest": manifest, "state": "st4te", "login": login})
    if form.status_code != 200:
        return form
    fields = form_fields(form.text) | {"login": login}
    return web.post(f"{path}/confirm", data=fields)


def test_manifest_registration_yields_a_working_app(
    github_sim: GitHubSimulator, github_web: httpx.Client, webhook_receiver: WebhookReceiver
) -> None:
    world = small_world(github_sim)
    done = _register(
        github_web, "/settings/apps/new", _manifest(f"{webhook_receiver.url}/hook"), "alice"
    )
    assert done.status_code == 302 and done.headers["location"].startswith(f"{REDIRECT}?")
    back = query_of(done.headers["location"])
    assert back["state"] == "st4te"
    converted = github_web.post(f"/api/v3/app-manifests/{back['code']}/conversions")
    assert converted.status_code == 201
    app = converted.json()
    assert (app["slug"], app["owner"]["login"]) == ("nanoscale-prod", "alice")
    assert app["client_id"] and app["client_secret"] and app["webhook_secret"]
    again = github_web.post(f"/api/v3/app-manifests/{back['code']}/conversions")
    assert again.status_code == 404
    now = int(github_sim.state.clock.now().timestamp())
    token = jwt.encode(
        {"iat": now - 60, "exp": now + 500, "iss": str(app["id"])}, app["pem"], "RS256"
    )
    assert github_web.get("/api/v3/app", headers=bearer(token)).json()["slug"] == "nanoscale-prod"
    created = github_sim.state.apps[app["id"]]
    inst = github_sim.install(created, world.alice)
    minted = github_web.post(
        f"/api/v3/app/installations/{inst.id}/access_tokens", headers=bearer(token)
    )
    assert minted.status_code == 201
    github_sim.deliveries.wait_idle()
    (ping,) = webhook_receiver.events("ping", "/hook")  # sent at registration, before conversion
    assert json.loads(ping.body)["hook"]["app_id"] == app["id"]
    assert ping.headers["X-Hub-Signature-256"] == sign(app["webhook_secret"], ping.body)
    (installed,) = webhook_receiver.events("installation", "/hook")
    assert installed.headers["X-Hub-Signature-256"] == sign(app["webhook_secret"], installed.body)


def test_organization_manifest_needs_an_organization_owner(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    small_world(github_sim)
    path = "/organizations/acme/settings/apps/new"
    refused = _register(github_web, path, _manifest("http://127.0.0.1:9/h", "Org App"), "bob")
    assert refused.status_code == 404
    done = _register(github_web, path, _manifest("http://127.0.0.1:9/h", "Org App"), "alice")
    code = query_of(done.headers["location"])["code"]
    app = github_web.post(f"/api/v3/app-manifests/{code}/conversions").json()
    assert app["owner"]["login"] == "acme" and app["owner"]["type"] == "Organization"


def test_a_code_expires_after_an_hour_and_bad_manifests_are_refused(
    github_sim: GitHubSimulator, github_web: httpx.Client
) -> None:
    small_world(github_sim)
    done = _register(github_web, "/settings/apps/new", _manifest("http://127.0.0.1:9/h"), "alice")
    code = query_of(done.headers["location"])["code"]
    github_sim.state.clock.advance(3601)
    assert github_web.post(f"/api/v3/app-manifests/{code}/conversions").status_code == 404
    taken = _register(github_web, "/settings/apps/new", _manifest("http://127.0.0.1:9/h"), "alice")
    assert taken.status_code == 422 and "already in use" in taken.text
    broken = _register(github_web, "/settings/apps/new", "{not json", "alice")
    assert broken.status_code == 422
    no_redirect = json.dumps({"name": "X", "url": "https://x.example"})
    assert _register(github_web, "/settings/apps/new", no_redirect, "alice").status_code == 422
