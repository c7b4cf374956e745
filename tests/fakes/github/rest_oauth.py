"""The OAuth applications API: an App revokes one user token or the user's whole grant.

Follows https://docs.github.com/en/rest/apps/oauth-applications: Basic authentication with the
App's client_id and client_secret, the token in a JSON body, 204 on success.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import Credential
from .core import USER_TOKEN_TTL
from .http import (
    BadJSON,
    gh_error,
    gh_json,
    json_body,
    no_content,
    not_found,
    problems_parsing_json,
    sim,
    state_of,
    validation_failed,
)
from .payloads import account_json
from .state import App, SimState, iso
from .tokens import UserToken

DOC = "/apps/oauth-applications"


async def _target(request: Request) -> tuple[App, UserToken] | Response:
    """The App named in the path (authenticated as itself) and the user token in the body."""
    cred: Credential = request.state.credential
    app = cred.client_app
    if app is None:
        return gh_error(401, "Requires authentication", DOC)
    if app.client_id != request.path_params["client_id"]:
        return not_found(DOC)
    try:
        body = await json_body(request)
    except BadJSON:
        return problems_parsing_json()
    value = body.get("access_token")
    if not isinstance(value, str) or not value:
        return validation_failed('Invalid request.\n\n"access_token" wasn\'t supplied.', DOC)
    token = state_of(request).user_tokens.get(value)
    if token is None or token.app is not app or token.revoked:
        return not_found(DOC)
    return app, token


def authorization_json(state: SimState, token: UserToken) -> dict[str, Any]:
    """The `authorization` a token check answers (the token is echoed: the caller sent it)."""
    issued = token.expires_at - USER_TOKEN_TTL
    digest = hashlib.sha256(token.token.encode()).hexdigest()
    return {
        "id": int(digest[:12], 16),
        "url": f"{state.api_url}/authorizations/{int(digest[:12], 16)}",
        "scopes": [],
        "token": token.token,
        "token_last_eight": token.token[-8:],
        "hashed_token": digest,
        "app": {
            "client_id": token.app.client_id,
            "name": token.app.name,
            "url": token.app.external_url or state.base_url,
        },
        "note": None,
        "note_url": None,
        "updated_at": iso(issued),
        "created_at": iso(issued),
        "fingerprint": None,
        "user": account_json(state, token.user),
        "installation": None,
        "expires_at": iso(token.expires_at),
    }


async def check_token(request: Request) -> Response:
    """POST /applications/{client_id}/token: 200 with the authorization while the token is
    valid, 404 once it is not (https://docs.github.com/en/rest/apps/oauth-applications#check-a-token)."""
    found = await _target(request)
    if isinstance(found, Response):
        return found
    token = found[1]
    if token.expires_at <= state_of(request).clock.now():
        return not_found(DOC)
    return gh_json(authorization_json(state_of(request), token))


async def delete_token(request: Request) -> Response:
    """DELETE /applications/{client_id}/token: only this access token stops working."""
    found = await _target(request)
    if isinstance(found, Response):
        return found
    found[1].revoked = True
    return no_content()


async def delete_grant(request: Request) -> Response:
    """DELETE /applications/{client_id}/grant: every token of the user for the App, and the
    user's authorization with it (the App gets `github_app_authorization.revoked`)."""
    found = await _target(request)
    if isinstance(found, Response):
        return found
    app, token = found
    await run_in_threadpool(sim(request).revoke_authorization, app, token.user)
    return no_content()


routes = [
    Route("/api/v3/applications/{client_id}/token", check_token, methods=["POST"]),
    Route("/api/v3/applications/{client_id}/token", delete_token, methods=["DELETE"]),
    Route("/api/v3/applications/{client_id}/grant", delete_grant, methods=["DELETE"]),
]
