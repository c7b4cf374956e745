"""REST for repository webhooks (needs the App's `repository_hooks` permission) and their logs."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import events, hook_rules
from .auth import Credential, permission
from .deliveries_rest import delivery_json, delivery_page, recent
from .delivery import Deliverer
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
    validation_errors,
)
from .payloads_repo import hook_json
from .rest_repos import lookup
from .state import Delivery, Hook, Repository

DOC = "/repos/webhooks"
RANK = {"none": 0, "read": 1, "write": 2}


def authorized(request: Request, need: str) -> Repository | Response:
    repo = lookup(request)
    if isinstance(repo, Response):
        return repo
    state, cred = state_of(request), request.state.credential
    if cred.user is not None and state.user_permission(cred.user, repo) != "admin":
        return not_found(DOC)  # GitHub hides hooks from non-admins
    if RANK[permission(state, cred, repo, "repository_hooks")] < RANK[need]:
        return gh_error(403, "Resource not accessible by integration", DOC)
    return repo


def hook_of(request: Request, repo: Repository) -> Hook | None:
    return repo.hooks.get(int(request.path_params["hook_id"]))


def _ping(request: Request, repo: Repository, hook: Hook) -> Delivery:
    cred: Credential = request.state.credential
    state = state_of(request)
    return _to_hook(
        request, repo, hook, "ping", events.ping_payload(state, repo, hook, cred.user or repo.owner)
    )


def _to_hook(
    request: Request, repo: Repository, hook: Hook, event: str, payload: dict[str, object]
) -> Delivery:
    """A delivery to this one hook only (`ping`, `meta`)."""
    deliverer: Deliverer = sim(request).deliverer
    return deliverer.new_delivery(
        event=event, action=payload.get("action"), hook_id=hook.id, target_type="repository",
        target_id=repo.id, installation_id=None, repository_id=repo.id, url=hook.url,
        secret=hook.secret, content_type=hook.content_type, payload=payload,
    )  # fmt: skip


async def list_hooks(request: Request) -> Response:
    repo = authorized(request, "read")
    if isinstance(repo, Response):
        return repo
    state = state_of(request)
    page, headers = paginate(request, list(repo.hooks.values()))
    return gh_json([hook_json(state, repo, h) for h in page], headers=headers)


async def create_hook(request: Request) -> Response:
    """POST /repos/{o}/{r}/hooks: validated like GitHub's (422 for bad events, URLs or a second
    hook on the same URL), then pinged in the background."""
    repo = authorized(request, "write")
    if isinstance(repo, Response):
        return repo
    try:
        body = await json_body(request)
    except BadJSON:
        return problems_parsing_json()
    config = body.get("config") or {}
    events_wanted = body.get("events", ["push"])
    errors = hook_rules.config_errors(config) + hook_rules.event_errors(events_wanted)
    errors = errors or hook_rules.duplicate_errors(repo, config["url"])
    if errors:
        return validation_errors(errors, f"{DOC}#create-a-repository-webhook")
    state = state_of(request)
    hook = sim(request).add_hook(
        repo,
        config["url"],
        secret=config.get("secret") or "",
        events=events_wanted,
        content_type=config.get("content_type", "form"),
        active=bool(body.get("active", True)),
    )
    hook.insecure_ssl = str(config.get("insecure_ssl", "0"))
    await run_in_threadpool(_ping, request, repo, hook)
    body_out = hook_json(state, repo, hook)
    return gh_json(body_out, 201, {"Location": body_out["url"]})


async def get_hook(request: Request) -> Response:
    repo = authorized(request, "read")
    if isinstance(repo, Response):
        return repo
    hook = hook_of(request, repo)
    return not_found(DOC) if hook is None else gh_json(hook_json(state_of(request), repo, hook))


async def update_hook(request: Request) -> Response:
    """PATCH a hook. A `config` replaces the old one's secret: sent without `secret`, the hook
    loses it ("you must provide the same secret or set a new secret or the secret will be
    removed", https://docs.github.com/en/rest/repos/webhooks#update-a-repository-webhook)."""
    repo = authorized(request, "write")
    if isinstance(repo, Response):
        return repo
    hook = hook_of(request, repo)
    if hook is None:
        return not_found(DOC)
    try:
        body = await json_body(request)
    except BadJSON:
        return problems_parsing_json()
    config = body.get("config")
    merged = {"url": hook.url, "content_type": hook.content_type, **(config or {})}
    errors = hook_rules.config_errors(merged)
    for key in ("events", "add_events", "remove_events"):
        errors += hook_rules.event_errors(body[key]) if key in body else []
    errors = errors or hook_rules.duplicate_errors(repo, merged["url"], except_id=hook.id)
    if errors:
        return validation_errors(errors, f"{DOC}#update-a-repository-webhook")
    if config is not None:
        hook.url, hook.content_type = merged["url"], merged["content_type"]
        hook.secret = config.get("secret") or ""
        hook.insecure_ssl = str(config.get("insecure_ssl", hook.insecure_ssl))
    hook.events = list(body.get("events", hook.events))
    hook.events += [e for e in body.get("add_events", []) if e not in hook.events]
    hook.events = [e for e in hook.events if e not in body.get("remove_events", [])]
    hook.active = bool(body.get("active", hook.active))
    hook.updated_at = state_of(request).clock.now()
    return gh_json(hook_json(state_of(request), repo, hook))


async def delete_hook(request: Request) -> Response:
    repo = authorized(request, "write")
    if isinstance(repo, Response):
        return repo
    hook = repo.hooks.pop(int(request.path_params["hook_id"]), None)
    if hook is None:
        return not_found(DOC)
    # GitHub tells the hook itself (https://docs.github.com/en/webhooks/webhook-events-and-payloads#meta).
    if hook.active and ({"meta", "*"} & set(hook.events)):
        cred: Credential = request.state.credential
        sender = cred.user or repo.owner
        payload = events.meta_deleted_payload(state_of(request), repo, hook, sender)
        await run_in_threadpool(_to_hook, request, repo, hook, "meta", payload)
    return no_content()


async def ping_hook(request: Request) -> Response:
    repo = authorized(request, "read")
    if isinstance(repo, Response):
        return repo
    hook = hook_of(request, repo)
    if hook is None:
        return not_found(DOC)
    await run_in_threadpool(_ping, request, repo, hook)
    return no_content()


def _hook_deliveries(request: Request, repo: Repository) -> list[Delivery]:
    hook_id = int(request.path_params["hook_id"])
    state = state_of(request)
    mine = [
        d
        for d in reversed(state.deliveries)
        if d.target_type == "repository" and d.hook_id == hook_id and d.target_id == repo.id
    ]
    return recent(state, mine)


async def list_deliveries(request: Request) -> Response:
    repo = authorized(request, "read")
    if isinstance(repo, Response):
        return repo
    return delivery_page(request, _hook_deliveries(request, repo))


async def get_delivery(request: Request) -> Response:
    repo = authorized(request, "read")
    if isinstance(repo, Response):
        return repo
    wanted = int(request.path_params["delivery_id"])
    found = next((d for d in _hook_deliveries(request, repo) if d.id == wanted), None)
    return not_found(DOC) if found is None else gh_json(delivery_json(found))


async def redeliver(request: Request) -> Response:
    repo = authorized(request, "write")
    if isinstance(repo, Response):
        return repo
    wanted = int(request.path_params["delivery_id"])
    found = next((d for d in _hook_deliveries(request, repo) if d.id == wanted), None)
    if found is None:
        return not_found(DOC)
    await run_in_threadpool(sim(request).deliverer.redeliver, found)
    return gh_json({}, 202)


HOOKS = "/api/v3/repos/{owner}/{repo}/hooks"
HOOK = HOOKS + "/{hook_id:int}"
routes = [
    Route(HOOKS, list_hooks, methods=["GET"]),
    Route(HOOKS, create_hook, methods=["POST"]),
    Route(HOOK, get_hook, methods=["GET"]),
    Route(HOOK, update_hook, methods=["PATCH"]),
    Route(HOOK, delete_hook, methods=["DELETE"]),
    Route(f"{HOOK}/pings", ping_hook, methods=["POST"]),
    Route(f"{HOOK}/deliveries", list_deliveries, methods=["GET"]),
    Route(HOOK + "/deliveries/{delivery_id:int}", get_delivery, methods=["GET"]),
    Route(HOOK + "/deliveries/{delivery_id:int}/attempts", redeliver, methods=["POST"]),
]
