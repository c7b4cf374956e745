"""REST for the App itself (JWT): installations, installation tokens, App webhook deliveries."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import Credential
from .http import (
    BadJSON,
    gh_error,
    gh_json,
    json_body,
    no_content,
    not_found,
    paginate,
    problems_parsing_json,
    sim,
    state_of,
    validation_failed,
)
from .payloads import app_json, installation_json, repo_json
from .state import PERMISSION_RANK, App, Installation, iso

JWT_DOC = (
    "/apps/building-github-apps/authenticating-with-github-apps#authenticating-as-a-github-app"
)
NEEDS_JWT = "A JSON web token could not be decoded"


def app_of(request: Request) -> App | Response:
    cred: Credential = request.state.credential
    if cred.app is None:
        return gh_error(401, NEEDS_JWT, JWT_DOC)
    return cred.app


def _installation(request: Request, app: App) -> Installation | None:
    inst = state_of(request).installations.get(int(request.path_params["installation_id"]))
    return inst if inst is not None and not inst.deleted and inst.app is app else None


async def get_app(request: Request) -> Response:
    app = app_of(request)
    return app if isinstance(app, Response) else gh_json(app_json(state_of(request), app))


async def list_installations(request: Request) -> Response:
    app = app_of(request)
    if isinstance(app, Response):
        return app
    state = state_of(request)
    insts = [i for i in state.live_installations() if i.app is app]
    page, headers = paginate(request, insts)
    return gh_json([installation_json(state, i) for i in page], headers=headers)


async def get_installation(request: Request) -> Response:
    app = app_of(request)
    if isinstance(app, Response):
        return app
    inst = _installation(request, app)
    if inst is None:
        return not_found("/apps/apps#get-an-installation-for-the-authenticated-app")
    return gh_json(installation_json(state_of(request), inst))


async def create_access_token(request: Request) -> Response:
    """Mint a 1-hour token, optionally narrowed to repositories and to fewer permissions."""
    app = app_of(request)
    if isinstance(app, Response):
        return app
    inst = _installation(request, app)
    if inst is None:
        return not_found("/apps/apps#create-an-installation-access-token-for-an-app")
    if inst.suspended_at is not None:
        return gh_error(403, "This installation has been suspended", "/apps/apps")
    try:
        body = await json_body(request)
    except BadJSON:
        return problems_parsing_json()
    state = state_of(request)
    available = {r.id: r for r in state.installation_repos(inst)}
    wanted: set[int] | None = None
    if body.get("repository_ids") or body.get("repositories"):
        by_name = {r.name: r.id for r in available.values()}
        wanted = set(body.get("repository_ids") or [])
        wanted |= {by_name.get(name, -1) for name in body.get("repositories") or []}
        if not wanted <= available.keys():
            return validation_failed(
                "There is at least one repository that does not exist or is not accessible "
                "to the parent installation.",
                "/apps/apps#create-an-installation-access-token-for-an-app",
            )
    perms: dict[str, str] = body.get("permissions") or dict(inst.permissions)
    for name, level in perms.items():
        granted = inst.permissions.get(name, "none")
        if PERMISSION_RANK.get(level, 99) > PERMISSION_RANK[granted]:
            return validation_failed(
                "The permissions requested are not granted to this installation.",
                "/apps/apps#create-an-installation-access-token-for-an-app",
            )
    token = sim(request).mint_installation_token(inst, repo_ids=wanted, permissions=perms)
    out: dict[str, Any] = {
        "token": token.token,
        "expires_at": iso(token.expires_at),
        "permissions": dict(token.permissions),
        "repository_selection": "selected" if wanted is not None else inst.repository_selection,
    }
    if wanted is not None:
        out["repositories"] = [repo_json(state, available[rid]) for rid in sorted(wanted)]
    return gh_json(out, 201)


async def delete_installation(request: Request) -> Response:
    app = app_of(request)
    if isinstance(app, Response):
        return app
    inst = _installation(request, app)
    if inst is None:
        return not_found("/apps/apps#delete-an-installation-for-the-authenticated-app")
    await run_in_threadpool(sim(request).uninstall, inst)
    return no_content()


async def suspend_installation(request: Request) -> Response:
    app = app_of(request)
    if isinstance(app, Response):
        return app
    inst = _installation(request, app)
    if inst is None:
        return not_found("/apps/apps#suspend-an-app-installation")
    action = sim(request).suspend if request.method == "PUT" else sim(request).unsuspend
    await run_in_threadpool(action, inst)
    return no_content()


routes = [
    Route("/api/v3/app", get_app, methods=["GET"]),
    Route("/api/v3/app/installations", list_installations, methods=["GET"]),
    Route("/api/v3/app/installations/{installation_id:int}", get_installation, methods=["GET"]),
    Route(
        "/api/v3/app/installations/{installation_id:int}", delete_installation, methods=["DELETE"]
    ),
    Route(
        "/api/v3/app/installations/{installation_id:int}/access_tokens",
        create_access_token,
        methods=["POST"],
    ),
    Route(
        "/api/v3/app/installations/{installation_id:int}/suspended",
        suspend_installation,
        methods=["PUT", "DELETE"],
    ),
]
