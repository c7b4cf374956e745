"""REST for the signed-in user and for installation tokens themselves."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import Credential, token_repos
from .http import gh_error, gh_json, no_content, not_found, paginate, state_of
from .payloads import installation_json, private_user_json, repo_json
from .state import Account, Installation, SimState

NEEDS_USER = (
    "You must authenticate with an access token authorized to a GitHub App "
    "in order to list installations"
)
NOT_INTEGRATION = "Resource not accessible by integration"


def credential(request: Request) -> Credential:
    cred: Credential = request.state.credential
    return cred


def user_reaches(state: SimState, user: Account, inst: Installation) -> bool:
    """GitHub lists an installation to a user with explicit access to it or to one of its repos."""
    if inst.account is user or inst.account.members.get(user.id) == "admin":
        return True
    return any(state.user_permission(user, r) != "none" for r in state.installation_repos(inst))


def _requires_auth() -> Response:
    return gh_error(401, "Requires authentication", "/users/users#get-the-authenticated-user")


async def get_user(request: Request) -> Response:
    cred = credential(request)
    if cred.user is None:
        if cred.kind == "anonymous":
            return _requires_auth()
        return gh_error(403, NOT_INTEGRATION, "/users/users#get-the-authenticated-user")
    return gh_json(private_user_json(state_of(request), cred.user))


async def list_user_installations(request: Request) -> Response:
    cred, state = credential(request), state_of(request)
    if cred.user_token is None:
        if cred.kind == "anonymous":
            return _requires_auth()
        return gh_error(403, NEEDS_USER, "/apps/installations")
    user, app = cred.user_token.user, cred.user_token.app
    visible = [
        i for i in state.live_installations() if i.app is app and user_reaches(state, user, i)
    ]
    page, headers = paginate(request, visible)
    body = {
        "total_count": len(visible),
        "installations": [installation_json(state, i) for i in page],
    }
    return gh_json(body, headers=headers)


async def list_user_installation_repos(request: Request) -> Response:
    """Only repositories of the installation that this user can access (never all of them)."""
    cred, state = credential(request), state_of(request)
    if cred.user_token is None:
        return gh_error(403, NEEDS_USER, "/apps/installations")
    inst = state.installations.get(int(request.path_params["installation_id"]))
    user = cred.user_token.user
    if inst is None or inst.deleted or inst.app is not cred.user_token.app:
        return not_found(
            "/apps/installations#list-repositories-accessible-to-the-user-access-token"
        )
    if not user_reaches(state, user, inst):
        return not_found(
            "/apps/installations#list-repositories-accessible-to-the-user-access-token"
        )
    pairs = [(r, state.user_permission(user, r)) for r in state.installation_repos(inst)]
    pairs = [(r, p) for r, p in pairs if p != "none"]
    page, headers = paginate(request, pairs)
    body = {
        "total_count": len(pairs),
        "repository_selection": inst.repository_selection,
        "repositories": [repo_json(state, r, permission=p) for r, p in page],
    }
    return gh_json(body, headers=headers)


async def list_installation_repos(request: Request) -> Response:
    cred, state = credential(request), state_of(request)
    token = cred.installation_token
    if token is None:
        if cred.kind == "anonymous":
            return _requires_auth()
        return gh_error(403, NOT_INTEGRATION, "/apps/installations")
    repos = token_repos(state, token)
    page, headers = paginate(request, repos)
    body = {
        "total_count": len(repos),
        "repository_selection": token.installation.repository_selection,
        "repositories": [repo_json(state, r) for r in page],
    }
    return gh_json(body, headers=headers)


async def revoke_installation_token(request: Request) -> Response:
    cred = credential(request)
    if cred.installation_token is None:
        return _requires_auth()
    cred.installation_token.revoked = True
    return no_content()


async def rate_limit(request: Request) -> Response:
    """GET /rate_limit: the caller's core budget (search and GraphQL are never spent here)."""
    window = request.state.rate_window
    core = {"limit": window.limit, "remaining": max(window.limit - window.used, 0)}
    core |= {"reset": int(window.reset.timestamp()), "used": window.used}
    untouched = {"remaining": 30, "limit": 30, "reset": core["reset"], "used": 0}
    graphql = {**untouched, "limit": 5000, "remaining": 5000}
    body = {"resources": {"core": core, "search": untouched, "graphql": graphql}, "rate": core}
    return gh_json(body)


routes = [
    Route("/api/v3/rate_limit", rate_limit, methods=["GET"]),
    Route("/api/v3/user", get_user, methods=["GET"]),
    Route("/api/v3/user/installations", list_user_installations, methods=["GET"]),
    Route(
        "/api/v3/user/installations/{installation_id:int}/repositories",
        list_user_installation_repos,
        methods=["GET"],
    ),
    Route("/api/v3/installation/repositories", list_installation_repos, methods=["GET"]),
    Route("/api/v3/installation/token", revoke_installation_token, methods=["DELETE"]),
]
