"""The App's own webhook (JWT): its configuration, its delivery log and redelivery; and which
installation covers a repository, user or organization.

Follows https://docs.github.com/en/rest/apps/webhooks and
https://docs.github.com/en/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hook_rules
from .deliveries_rest import delivery_json, delivery_page, recent
from .http import (
    BadJSON,
    gh_json,
    json_body,
    not_found,
    problems_parsing_json,
    sim,
    state_of,
    validation_errors,
)
from .payloads import installation_json
from .rest_apps import app_of
from .state import App, Delivery

DOC = "/apps/webhooks"


def _config_json(app: App) -> dict[str, Any]:
    config: dict[str, Any] = {
        "content_type": app.webhook_content_type,
        "insecure_ssl": app.webhook_insecure_ssl,
        "url": app.webhook_url or "",
    }
    if app.webhook_secret:
        config["secret"] = "********"
    return config


async def get_config(request: Request) -> Response:
    app = app_of(request)
    return app if isinstance(app, Response) else gh_json(_config_json(app))


async def update_config(request: Request) -> Response:
    """Only the fields sent change (a missing `secret` keeps the secret)."""
    app = app_of(request)
    if isinstance(app, Response):
        return app
    try:
        body = await json_body(request)
    except BadJSON:
        return problems_parsing_json()
    merged = {"url": app.webhook_url, "content_type": app.webhook_content_type, **body}
    errors = hook_rules.config_errors(merged)
    if errors:
        return validation_errors(errors, f"{DOC}#update-a-webhook-configuration-for-an-app")
    app.webhook_url, app.webhook_content_type = merged["url"], merged["content_type"]
    if "secret" in body:
        app.webhook_secret = body["secret"] or ""
    app.webhook_insecure_ssl = str(body.get("insecure_ssl", app.webhook_insecure_ssl))
    return gh_json(_config_json(app))


def _mine(request: Request, app: App) -> list[Delivery]:
    state = state_of(request)
    mine = [
        d
        for d in reversed(state.deliveries)
        if d.target_type == "integration" and d.target_id == app.id
    ]
    return recent(state, mine)


async def list_deliveries(request: Request) -> Response:
    app = app_of(request)
    return app if isinstance(app, Response) else delivery_page(request, _mine(request, app))


def _delivery(request: Request, app: App) -> Delivery | None:
    wanted = int(request.path_params["delivery_id"])
    return next((d for d in _mine(request, app) if d.id == wanted), None)


async def get_delivery(request: Request) -> Response:
    app = app_of(request)
    if isinstance(app, Response):
        return app
    delivery = _delivery(request, app)
    return not_found(DOC) if delivery is None else gh_json(delivery_json(delivery))


async def redeliver(request: Request) -> Response:
    app = app_of(request)
    if isinstance(app, Response):
        return app
    delivery = _delivery(request, app)
    if delivery is None:
        return not_found(DOC)
    await run_in_threadpool(sim(request).deliverer.redeliver, delivery)
    return gh_json({}, 202)


async def installation_for(request: Request) -> Response:
    """GET /repos/{o}/{r}/installation, /users/{u}/installation, /orgs/{o}/installation."""
    app = app_of(request)
    if isinstance(app, Response):
        return app
    state, params = state_of(request), request.path_params
    mine = [i for i in state.live_installations() if i.app is app]
    if "repo" in params:
        repo = state.repo(params["owner"], params["repo"])
        found = next(
            (i for i in mine if repo is not None and repo in state.installation_repos(i)), None
        )
    else:
        account = state.account(params["account"])
        wanted = "Organization" if request.url.path.startswith("/api/v3/orgs/") else "User"
        found = next((i for i in mine if account and i.account is account), None)
        found = found if account is not None and account.type == wanted else None
    if found is None:
        return not_found("/apps/apps#get-a-repository-installation-for-the-authenticated-app")
    return gh_json(installation_json(state, found))


DELIVERY = "/api/v3/app/hook/deliveries/{delivery_id:int}"
routes = [
    Route("/api/v3/app/hook/config", get_config, methods=["GET"]),
    Route("/api/v3/app/hook/config", update_config, methods=["PATCH"]),
    Route("/api/v3/app/hook/deliveries", list_deliveries, methods=["GET"]),
    Route(DELIVERY, get_delivery, methods=["GET"]),
    Route(f"{DELIVERY}/attempts", redeliver, methods=["POST"]),
    Route("/api/v3/repos/{owner}/{repo}/installation", installation_for, methods=["GET"]),
    Route("/api/v3/users/{account}/installation", installation_for, methods=["GET"]),
    Route("/api/v3/orgs/{account}/installation", installation_for, methods=["GET"]),
]
