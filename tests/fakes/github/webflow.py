"""OAuth web flow for GitHub App user tokens: consent page, PKCE (S256), code and refresh grants.

GitHub answers token-endpoint errors with HTTP 200 and an `error` field; so does this.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .core import random_token
from .http import sim, state_of
from .pages import login_select, page, signed_in_user
from .state import Account, App, SimState
from .tokens import AuthCode

CODE_TTL_SECONDS = 600
ERROR_DOC = (
    "https://docs.github.com/apps/managing-oauth-apps/"
    "troubleshooting-oauth-app-access-token-request-errors/"
)
ERRORS = {
    "incorrect_client_credentials": "The client_id and/or client_secret passed are incorrect.",
    "redirect_uri_mismatch": (
        "The redirect_uri MUST match the registered callback URL for this application."
    ),
    "bad_verification_code": "The code passed is incorrect or expired.",
    "bad_refresh_token": "The refresh token passed is incorrect or expired.",
    "unsupported_grant_type": "The grant type is not supported.",
}


def _app_by_client(state: SimState, client_id: str) -> App | None:
    return next((a for a in state.apps.values() if a.client_id == client_id), None)


def redirect_allowed(app: App, redirect_uri: str) -> bool:
    """A GitHub App's redirect_uri "must exactly match one of the URLs you provided as a
    'Callback URL' in your app's settings and can't contain any additional parameters"
    (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app).
    Unlike OAuth apps, no sub-path, other port or extra query is accepted."""
    return redirect_uri in app.callback_urls


async def authorize_page(request: Request) -> Response:
    state, q = state_of(request), request.query_params
    app = _app_by_client(state, q.get("client_id", ""))
    if app is None:
        return HTMLResponse(page("Not Found", "<p>Unknown client_id.</p>"), status_code=404)
    redirect_uri = q.get("redirect_uri") or (app.callback_urls[0] if app.callback_urls else "")
    if not redirect_allowed(app, redirect_uri):
        target = app.callback_urls[0] if app.callback_urls else None
        if target is None:
            return HTMLResponse(page("Error", f"<p>{ERRORS['redirect_uri_mismatch']}</p>"), 400)
        query = {
            "error": "redirect_uri_mismatch",
            "error_description": ERRORS["redirect_uri_mismatch"],
        }
        return RedirectResponse(
            f"{target}?{urlencode({**query, 'state': q.get('state', '')})}", 302
        )
    if q.get("code_challenge") and q.get("code_challenge_method", "plain") != "S256":
        return HTMLResponse(page("Error", "<p>code_challenge_method must be S256.</p>"), 400)
    user = signed_in_user(request, q.get("login"))
    hidden = {
        k: q.get(k, "") for k in ("client_id", "state", "code_challenge", "code_challenge_method")
    }
    hidden["redirect_uri"] = redirect_uri
    fields = "".join(
        f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in hidden.items()
    )
    body = f"""
    <h1>Authorize {escape(app.name)}</h1>
    <p>{escape(app.name)} by {escape(app.owner.login)} wants to verify your GitHub identity
    and act on your behalf.</p>
    <form method="post" action="/login/oauth/authorize">
      {fields}
      <label>Signed in as {login_select(state, user)}</label>
      <button type="submit" name="decision" value="authorize" id="js-oauth-authorize-btn">
        Authorize {escape(app.name)}</button>
      <button type="submit" name="decision" value="cancel">Cancel</button>
    </form>"""
    return HTMLResponse(page(f"Authorize {app.name}", body))


async def authorize_submit(request: Request) -> Response:
    state = state_of(request)
    form = dict(parse_qsl((await request.body()).decode()))
    app = _app_by_client(state, form.get("client_id", ""))
    redirect_uri = form.get("redirect_uri", "")
    if app is None or not redirect_allowed(app, redirect_uri):
        return HTMLResponse(page("Error", "<p>Invalid authorization request.</p>"), 400)
    back = {"state": form.get("state", "")}
    user = state.account(form.get("login", ""))
    if form.get("decision") != "authorize" or user is None or user.type != "User":
        error = {
            "error": "access_denied",
            "error_description": "The user has denied your application access.",
        }
        return RedirectResponse(f"{redirect_uri}?{urlencode({**error, **back})}", 302)
    code = issue_code(
        state,
        app,
        user,
        redirect_uri,
        challenge=form.get("code_challenge") or None,
        method=form.get("code_challenge_method") or None,
    )
    response = RedirectResponse(f"{redirect_uri}?{urlencode({'code': code.code, **back})}", 302)
    response.set_cookie("gh_sim_login", user.login, httponly=True, samesite="lax")
    return response


def issue_code(
    state: SimState,
    app: App,
    user: Account,
    redirect_uri: str,
    *,
    challenge: str | None = None,
    method: str | None = None,
) -> AuthCode:
    """A single-use authorization code, valid for ten minutes."""
    code = AuthCode(
        code=random_token("", 20).lower(),
        app=app,
        user=user,
        redirect_uri=redirect_uri,
        code_challenge=challenge,
        code_challenge_method=method,
        expires_at=state.clock.now() + timedelta(seconds=CODE_TTL_SECONDS),
    )
    state.auth_codes[code.code] = code
    return code


def pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(computed, challenge)


async def _params(request: Request) -> dict[str, str]:
    raw = await request.body()
    params = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json") and raw.strip():
        params.update({k: str(v) for k, v in json.loads(raw).items()})
    else:
        params.update(parse_qsl(raw.decode()))
    return params


def _answer(request: Request, body: dict[str, Any]) -> Response:
    if "json" in request.headers.get("accept", ""):
        return JSONResponse(body)
    text = urlencode({k: v for k, v in body.items() if v is not None})
    return Response(text, media_type="application/x-www-form-urlencoded; charset=utf-8")


def _error(request: Request, error: str, description: str | None = None) -> Response:
    body = {
        "error": error,
        "error_description": description or ERRORS[error],
        "error_uri": f"{ERROR_DOC}#{error.replace('_', '-')}",
    }
    return _answer(request, body)


async def access_token(request: Request) -> Response:
    state, params = state_of(request), await _params(request)
    app = _app_by_client(state, params.get("client_id", ""))
    if app is None or not hmac.compare_digest(app.client_secret, params.get("client_secret", "")):
        return _error(request, "incorrect_client_credentials")
    grant = params.get("grant_type", "authorization_code")
    now = state.clock.now()
    if grant == "refresh_token":
        old = state.refresh_tokens.get(params.get("refresh_token", ""))
        if old is None or old.used or old.app is not app or old.expires_at <= now:
            return _error(request, "bad_refresh_token")
        # Rotation: the refresh token works once, and the access token issued with it ends too
        # (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens).
        old.used = True
        issued_with = state.user_tokens.get(old.access_token)
        if issued_with is not None:
            issued_with.revoked = True
        user = old.user
    elif grant == "authorization_code":
        code = state.auth_codes.get(params.get("code", ""))
        if code is None or code.used or code.app is not app or code.expires_at <= now:
            return _error(request, "bad_verification_code")
        if params.get("redirect_uri") and params["redirect_uri"] != code.redirect_uri:
            return _error(request, "redirect_uri_mismatch")
        if code.code_challenge and not pkce_matches(
            params.get("code_verifier", ""), code.code_challenge
        ):
            return _error(
                request,
                "bad_verification_code",
                "The code_verifier does not match the code_challenge.",
            )
        code.used = True
        user = code.user
    else:
        return _error(request, "unsupported_grant_type")
    access, refresh = sim(request).mint_user_token(app, user)
    return _answer(
        request,
        {
            "access_token": access.token,
            "expires_in": int((access.expires_at - now).total_seconds()),
            "refresh_token": refresh.token,
            "refresh_token_expires_in": int((refresh.expires_at - now).total_seconds()),
            "scope": "",
            "token_type": "bearer",
        },
    )


routes = [
    Route("/login/oauth/authorize", authorize_page, methods=["GET"]),
    Route("/login/oauth/authorize", authorize_submit, methods=["POST"]),
    Route("/login/oauth/access_token", access_token, methods=["POST"]),
]
