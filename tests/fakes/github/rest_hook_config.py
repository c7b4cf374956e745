"""A repository hook's configuration on its own: GET/PATCH /repos/{o}/{r}/hooks/{id}/config.

Follows https://docs.github.com/en/rest/repos/webhooks#get-a-webhook-configuration-for-a-repository
and #update-a-webhook-configuration-for-a-repository: only the fields sent change (a missing
`secret` keeps the secret, unlike PATCH of the hook itself); the secret is never echoed.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import hook_rules
from .http import (
    BadJSON,
    gh_json,
    json_body,
    not_found,
    problems_parsing_json,
    state_of,
    validation_errors,
)
from .rest_hooks import DOC, HOOK, authorized, hook_of
from .state import Hook


def config_json(hook: Hook) -> dict[str, Any]:
    config: dict[str, Any] = {
        "content_type": hook.content_type,
        "insecure_ssl": hook.insecure_ssl,
        "url": hook.url,
    }
    if hook.secret:
        config["secret"] = "********"
    return config


async def get_config(request: Request) -> Response:
    repo = authorized(request, "read")
    if isinstance(repo, Response):
        return repo
    hook = hook_of(request, repo)
    return not_found(DOC) if hook is None else gh_json(config_json(hook))


async def update_config(request: Request) -> Response:
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
    merged = {"url": hook.url, "content_type": hook.content_type, **body}
    errors = hook_rules.config_errors(merged)
    errors = errors or hook_rules.duplicate_errors(repo, merged["url"], except_id=hook.id)
    if errors:
        return validation_errors(errors, f"{DOC}#update-a-webhook-configuration-for-a-repository")
    hook.url, hook.content_type = merged["url"], merged["content_type"]
    if "secret" in body:
        hook.secret = body["secret"] or ""
    hook.insecure_ssl = str(body.get("insecure_ssl", hook.insecure_ssl))
    hook.updated_at = state_of(request).clock.now()
    return gh_json(config_json(hook))


routes = [
    Route(f"{HOOK}/config", get_config, methods=["GET"]),
    Route(f"{HOOK}/config", update_config, methods=["PATCH"]),
]
