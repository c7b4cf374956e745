"""Registering a GitHub App from a manifest: the pages and the code-for-credentials exchange.

Follows https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest:
a form POSTs `manifest` (JSON) and `state` to `{web}/settings/apps/new` or
`{web}/organizations/{org}/settings/apps/new`; the signed-in user confirms; GitHub redirects to
the manifest's `redirect_url` with `code` and `state`; `POST /app-manifests/{code}/conversions`
(no authentication) answers the new App with client_id, client_secret, webhook_secret and pem.
The code works once, within one hour.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .core import random_token
from .http import gh_json, not_found, sim, state_of
from .pages import login_select, page, signed_in_user
from .payloads import account_json, app_json
from .records import ManifestCode
from .state import Account, App, SimState, iso

CODE_TTL = timedelta(hours=1)
DOC = "/apps/apps#create-a-github-app-from-a-manifest"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _owner(request: Request, user: Account | None) -> Account | None:
    """The account the App will belong to: the user, or an organization they administer."""
    org_login = request.path_params.get("org")
    if user is None or org_login is None:
        return user
    org = state_of(request).account(org_login)
    if org is None or org.type != "Organization" or org.members.get(user.id) != "admin":
        return None
    return org


def _manifest(raw: str, state: SimState) -> dict[str, Any] | str:
    """The parsed manifest, or why GitHub would refuse it."""
    try:
        manifest = json.loads(raw)
    except ValueError:
        return "The manifest is not valid JSON."
    if not isinstance(manifest, dict) or not manifest.get("url"):
        return "The manifest needs a url."
    if not manifest.get("redirect_url"):
        return "The manifest needs a redirect_url."
    name = str(manifest.get("name") or "")
    if not _slug(name):
        return "The manifest needs a name."
    if any(a.slug == _slug(name) for a in state.apps.values()):
        return f"Name '{name}' is already in use."
    return manifest


def _refuse(message: str, status: int = 422) -> Response:
    return HTMLResponse(page("Error", f"<p class='error'>{escape(message)}</p>"), status)


async def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode()))


async def new_app(request: Request) -> Response:
    """The confirmation page: which account, which name, Create."""
    form, state = await _form(request), state_of(request)
    user = signed_in_user(request, form.get("login") or request.query_params.get("login"))
    owner = _owner(request, user)
    manifest = _manifest(form.get("manifest", ""), state)
    if isinstance(manifest, str):
        return _refuse(manifest)
    if user is None or owner is None:
        return _refuse("Sign in as the account (or an owner of the organization).", 404)
    hidden = {"manifest": form.get("manifest", ""), "state": form.get("state", "")}
    fields = "".join(
        f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in hidden.items()
    )
    body = f"""<h1>Create GitHub App for {escape(owner.login)}</h1>
    <p>Name: <strong>{escape(str(manifest["name"]))}</strong></p>
    <form method="post" action="{request.url.path}/confirm">{fields}
      <label>Signed in as {login_select(state, user)}</label>
      <button type="submit" id="create-app">Create GitHub App for {escape(owner.login)}</button>
    </form>"""
    return HTMLResponse(page("Create GitHub App", body))


def register(simulator: Any, owner: Account, manifest: dict[str, Any]) -> App:
    hook = manifest.get("hook_attributes") or {}
    app: App = simulator.add_app(
        owner,
        _slug(str(manifest["name"])),
        webhook_url=hook.get("url") if hook.get("active", True) else None,
        callback_urls=list(manifest.get("callback_urls") or []),
        setup_url=manifest.get("setup_url"),
        permissions=dict(manifest.get("default_permissions") or {"metadata": "read"}),
        events=list(manifest.get("default_events") or []),
    )
    app.name = str(manifest["name"])
    app.description = str(manifest.get("description") or "")
    app.external_url = str(manifest["url"])
    app.request_oauth_on_install = bool(manifest.get("request_oauth_on_install", False))
    app.setup_on_update = bool(manifest.get("setup_on_update", False))
    # "When you register a new GitHub App, GitHub sends a ping event to the webhook URL" (the
    # ping webhook's description): signed with a secret the App only learns at conversion.
    simulator.emit_app_event(app, "ping", _app_ping(simulator.state, app))
    return app


def _app_ping(state: SimState, app: App) -> dict[str, Any]:
    now = iso(app.created_at)
    hook = {
        "type": "App",
        "id": app.hook_id,
        "name": "web",
        "active": True,
        "events": list(app.events),
        "config": {
            "content_type": app.webhook_content_type,
            "insecure_ssl": app.webhook_insecure_ssl,
            "url": app.webhook_url,
        },
        "updated_at": now,
        "created_at": now,
        "app_id": app.id,
        "deliveries_url": f"{state.api_url}/app/hook/deliveries",
    }
    sender = account_json(state, app.owner)
    return {"zen": "Design for failure.", "hook_id": app.hook_id, "hook": hook, "sender": sender}


async def confirm(request: Request) -> Response:
    form, state = await _form(request), state_of(request)
    user = signed_in_user(request, form.get("login"))
    owner = _owner(request, user)
    manifest = _manifest(form.get("manifest", ""), state)
    if isinstance(manifest, str):
        return _refuse(manifest)
    if owner is None:
        return _refuse("Sign in as the account (or an owner of the organization).", 404)
    app = await run_in_threadpool(register, sim(request), owner, manifest)
    code = ManifestCode(random_token("", 20).lower(), app, state.clock.now() + CODE_TTL)
    state.manifest_codes[code.code] = code
    query = urlencode({"code": code.code, "state": form.get("state", "")})
    return RedirectResponse(f"{manifest['redirect_url']}?{query}", 302)


async def conversion(request: Request) -> Response:
    state = state_of(request)
    found = state.manifest_codes.get(request.path_params["code"])
    if found is None or found.used or found.expires_at <= state.clock.now():
        return not_found(DOC)
    found.used = True
    app = found.app
    body = {
        **app_json(state, app),
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "webhook_secret": app.webhook_secret if app.webhook_url else None,
        "pem": app.private_key_pem.decode(),
    }
    return gh_json(body, 201)


routes = [
    Route("/settings/apps/new", new_app, methods=["POST"]),
    Route("/settings/apps/new/confirm", confirm, methods=["POST"]),
    Route("/organizations/{org}/settings/apps/new", new_app, methods=["POST"]),
    Route("/organizations/{org}/settings/apps/new/confirm", confirm, methods=["POST"]),
    Route("/api/v3/app-manifests/{code}/conversions", conversion, methods=["POST"]),
]
