"""The App installation pages: pick an account, pick repositories, then where GitHub sends the
browser. Follows GitHub's "About the setup URL",
https://docs.github.com/en/apps/creating-github-apps/registering-a-github-app/about-the-setup-url
and "Generating a user access token when a user installs your app":

* a new installation goes to the setup URL with `installation_id` and `setup_action=install`;
* with "Request user authorization (OAuth) during installation" it goes to the callback URL
  with an OAuth `code` as well (the setup URL is then unused);
* a changed installation goes to the setup URL (`setup_action=update`) only with "Redirect on
  update"; otherwise GitHub shows its own page;
* an organization member who is not an owner can only request the App: `setup_action=request`
  and no `installation_id`.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .http import sim, state_of
from .pages import login_select, page, signed_in_user
from .state import Account, App, SimState
from .webflow import issue_code


def _app(state: SimState, slug: str) -> App | None:
    return next((a for a in state.apps.values() if a.slug == slug), None)


def _installable_accounts(state: SimState, user: Account) -> list[Account]:
    """The user's own account and the organizations they administer."""
    orgs = [o for o in state.user_orgs(user) if o.members.get(user.id) == "admin"]
    return [user, *sorted(orgs, key=lambda o: o.login)]


def _requestable_accounts(state: SimState, user: Account) -> list[Account]:
    """Organizations where the user is a member but not an owner: they may only ask."""
    orgs = [o for o in state.user_orgs(user) if o.members.get(user.id) == "member"]
    return sorted(orgs, key=lambda o: o.login)


def _reachable(state: SimState, user: Account) -> list[Account]:
    return _installable_accounts(state, user) + _requestable_accounts(state, user)


async def choose_account(request: Request) -> Response:
    state = state_of(request)
    app = _app(state, request.path_params["slug"])
    if app is None:
        return HTMLResponse(page("Not Found", "<p>No such App.</p>"), 404)
    user = signed_in_user(request, request.query_params.get("login"))
    gh_state = request.query_params.get("state", "")
    if user is None:
        body = f"""<h1>Sign in to install {escape(app.name)}</h1>
        <form method="get">{login_select(state, None)}
        <input type="hidden" name="state" value="{escape(gh_state)}">
        <button type="submit">Sign in</button></form>"""
        return HTMLResponse(page("Sign in", body))
    items = []
    for account in _reachable(state, user):
        query = urlencode({"target_id": account.id, "login": user.login, "state": gh_state})
        items.append(
            f'<li><a class="account" data-login="{escape(account.login)}" '
            f'href="/apps/{app.slug}/installations/new/permissions?{query}">'
            f"{escape(account.login)}</a></li>"
        )
    body = (
        f"<h1>Install {escape(app.name)}</h1><p>Where do you want to install it?</p>"
        f"<ul>{''.join(items)}</ul>"
    )
    return HTMLResponse(page(f"Install {app.name}", body))


async def choose_repositories(request: Request) -> Response:
    state, q = state_of(request), request.query_params
    app = _app(state, request.path_params["slug"])
    user = signed_in_user(request, q.get("login"))
    target = state.accounts.get(int(q.get("target_id", "0") or 0))
    if app is None or user is None or target is None or target not in _reachable(state, user):
        return HTMLResponse(page("Not Found", "<p>Not found.</p>"), 404)
    repos = sorted(
        (r for r in state.repos.values() if r.owner is target and not r.deleted),
        key=lambda r: r.name,
    )
    boxes = "".join(
        f'<li><label><input type="checkbox" name="repository_ids" value="{r.id}"> '
        f"{escape(r.full_name)}{' (private)' if r.private else ''}</label></li>"
        for r in repos
    )
    body = f"""<h1>Install {escape(app.name)} on {escape(target.login)}</h1>
    <form method="post" action="/apps/{app.slug}/installations">
      <input type="hidden" name="target_id" value="{target.id}">
      <input type="hidden" name="login" value="{escape(user.login)}">
      <input type="hidden" name="state" value="{escape(q.get("state", ""))}">
      <label><input type="radio" name="repository_selection" value="all" checked>
        All repositories</label>
      <label><input type="radio" name="repository_selection" value="selected">
        Only select repositories</label>
      <ul>{boxes}</ul>
      <button type="submit">Install</button>
    </form>"""
    return HTMLResponse(page("Install", body))


async def install(request: Request) -> Response:
    state = state_of(request)
    app = _app(state, request.path_params["slug"])
    form = parse_qsl((await request.body()).decode())
    fields = dict(form)
    user = signed_in_user(request, fields.get("login"))
    target = state.accounts.get(int(fields.get("target_id", "0") or 0))
    if app is None or user is None or target is None or target not in _reachable(state, user):
        return HTMLResponse(page("Not Found", "<p>Not found.</p>"), 404)
    back = {"state": fields["state"]} if fields.get("state") else {}
    if target not in _installable_accounts(state, user):
        return _requested(app, target, back)
    existed = any(i.app is app and i.account is target for i in state.live_installations())
    repos = None
    if fields.get("repository_selection") == "selected":
        ids = {int(v) for k, v in form if k == "repository_ids"}
        repos = [r for r in state.repos.values() if r.id in ids and r.owner is target]
    inst = await run_in_threadpool(
        lambda: sim(request).install(app, target, repos=repos, sender=user)
    )
    query: dict[str, str | int] = {
        "installation_id": inst.id,
        "setup_action": "update" if existed else "install",
        **back,
    }
    if existed and not app.setup_on_update:
        return _done(f"Installation {inst.id} on {target.login} updated.")
    if app.request_oauth_on_install and app.callback_urls:
        code = issue_code(state, app, user, app.callback_urls[0])
        target_url = f"{app.callback_urls[0]}?{urlencode({'code': code.code, **query})}"
        response = RedirectResponse(target_url, 302)
        response.set_cookie("gh_sim_login", user.login, httponly=True, samesite="lax")
        return response
    if app.setup_url:
        return RedirectResponse(f"{app.setup_url}?{urlencode(query)}", 302)
    return _done(f"Installation {inst.id} on {target.login}.")


def _requested(app: App, target: Account, back: dict[str, str]) -> Response:
    """A member asked the organization's owners; nothing is installed yet."""
    if app.setup_url:
        query = urlencode({"setup_action": "request", **back})
        return RedirectResponse(f"{app.setup_url}?{query}", 302)
    return _done(f"Request sent to the owners of {target.login}.")


def _done(message: str) -> Response:
    return HTMLResponse(page("Done", f"<h1>Done</h1><p>{escape(message)}</p>"))


routes = [
    Route("/apps/{slug}/installations/new", choose_account, methods=["GET"]),
    Route("/apps/{slug}/installations/new/permissions", choose_repositories, methods=["GET"]),
    Route("/apps/{slug}/installations", install, methods=["POST"]),
]
