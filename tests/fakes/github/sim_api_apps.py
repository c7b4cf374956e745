"""HTTP control API for accounts and Apps (the rest is in sim_api):

POST /_sim/accounts/{login}/repos {"name", "private"}: a user creates a repository
  (`repository.created` for "All repositories" installations);
POST /_sim/apps/{slug}/permissions {"permissions", "events"}: the App asks for new permissions;
POST /_sim/installations/{id}/accept-permissions: the account accepts them;
POST /_sim/apps/{slug}/revoke {"login"}: the user revokes the App (`github_app_authorization`);
PATCH /_sim/apps/{slug} {"request_oauth_on_install", "setup_on_update", "setup_url"}: settings.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .http import sim
from .state import App

SETTINGS = ("request_oauth_on_install", "setup_on_update", "setup_url", "callback_urls")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    body = json.loads(raw) if raw.strip() else {}
    return body if isinstance(body, dict) else {}


def _app(request: Request) -> App | None:
    slug = request.path_params["slug"]
    return next((a for a in sim(request).state.apps.values() if a.slug == slug), None)


def _missing(what: str) -> Response:
    return JSONResponse({"error": f"unknown {what}"}, 404)


async def create_repo(request: Request) -> Response:
    simulator, body = sim(request), await _body(request)
    owner = simulator.state.account(request.path_params["login"])
    if owner is None or not body.get("name"):
        return _missing("account (or no name)")
    private = bool(body.get("private", True))
    repo = await run_in_threadpool(
        lambda: simulator.create_repo(owner, str(body["name"]), private=private)
    )
    return JSONResponse({"result": {"id": repo.id, "full_name": repo.full_name}})


async def request_permissions(request: Request) -> Response:
    app, body = _app(request), await _body(request)
    if app is None or not isinstance(body.get("permissions"), dict):
        return _missing("App (or no permissions)")
    sim(request).request_permissions(app, body["permissions"], body.get("events"))
    return JSONResponse({"result": None})


async def accept_permissions(request: Request) -> Response:
    simulator = sim(request)
    inst = simulator.state.installations.get(request.path_params["installation_id"])
    if inst is None or inst.deleted:
        return _missing("installation")
    await run_in_threadpool(simulator.accept_permissions, inst)
    return JSONResponse({"result": None})


async def revoke(request: Request) -> Response:
    simulator, app, body = sim(request), _app(request), await _body(request)
    user = simulator.state.account(str(body.get("login", "")))
    if app is None or user is None:
        return _missing("App or user")
    await run_in_threadpool(simulator.revoke_authorization, app, user)
    return JSONResponse({"result": None})


async def app_settings(request: Request) -> Response:
    app, body = _app(request), await _body(request)
    if app is None:
        return _missing("App")
    for name in SETTINGS:
        if name in body:
            setattr(app, name, body[name])
    return JSONResponse({"result": {name: getattr(app, name) for name in SETTINGS}})


routes = [
    Route("/_sim/accounts/{login}/repos", create_repo, methods=["POST"]),
    Route("/_sim/apps/{slug}/permissions", request_permissions, methods=["POST"]),
    Route("/_sim/apps/{slug}/revoke", revoke, methods=["POST"]),
    Route("/_sim/apps/{slug}", app_settings, methods=["PATCH"]),
    Route(
        "/_sim/installations/{installation_id:int}/accept-permissions",
        accept_permissions,
        methods=["POST"],
    ),
]
