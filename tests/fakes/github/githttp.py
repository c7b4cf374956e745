"""Git smart-HTTP (clone, fetch, push) through `git http-backend`, with GitHub's token rules.

Private repositories need Basic auth whose password is an installation token (`x-access-token`)
or a user token; tokens narrowed to other repositories get GitHub's "Repository not found".
Pushes (`git-receive-pack`) follow gitpush.py.
"""

from __future__ import annotations

import gzip
import subprocess

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .auth import AuthError, Credential, authenticate, can_see, permission
from .gitpush import push_refusal, receive
from .gitstore import _env
from .http import sim, state_of
from .state import Repository, SimState

UNAUTHORIZED = {"WWW-Authenticate": 'Basic realm="GitHub"'}


def _run_backend(
    repo: Repository, request_env: dict[str, str], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    env = _env(
        {
            "GIT_PROJECT_ROOT": str(repo.path.parent),
            "GIT_HTTP_EXPORT_ALL": "1",
            "CONTENT_LENGTH": str(len(body)),  # the body is buffered: never chunked for the CGI
            **request_env,
        }
    )
    out = subprocess.run(
        ["git", "http-backend"], input=body, capture_output=True, env=env, check=False, timeout=120
    )
    head, _, payload = out.stdout.partition(b"\r\n\r\n")
    status, headers = 200, {}
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    return status, headers, payload


def _access(state: SimState, request: Request, repo: Repository) -> Response | None:
    """None when the request may read the repository, else GitHub's refusal."""
    if not repo.private:
        return None
    header = request.headers.get("authorization", "")
    if not header:
        return PlainTextResponse("Authentication required\n", 401, UNAUTHORIZED)
    try:
        cred: Credential = authenticate(state, header, "git")
    except AuthError:
        return PlainTextResponse("Invalid username or token.\n", 401, UNAUTHORIZED)
    if cred.kind == "installation" and permission(state, cred, repo, "contents") == "none":
        return PlainTextResponse("Repository not found.\n", 404)
    if not can_see(state, cred, repo):
        return PlainTextResponse("Repository not found.\n", 404)
    return None


async def smart_http(request: Request) -> Response:
    state = state_of(request)
    owner, name = request.path_params["owner"], request.path_params["repo_git"]
    if not name.endswith(".git"):
        return PlainTextResponse("Not Found", 404)
    repo = state.repo(owner, name.removesuffix(".git"))
    if repo is None:
        return PlainTextResponse("Repository not found.\n", 404)
    service = request.query_params.get("service", "") or request.path_params["rest"]
    pushing = "receive-pack" in service
    pusher: Credential | None = None
    if pushing:
        allowed = push_refusal(state, request, repo)
        if isinstance(allowed, Response):
            return allowed
        pusher = allowed
    else:
        refused = _access(state, request, repo)
        if refused is not None:
            return refused
    body = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        body = gzip.decompress(body)
    request_env = {
        "PATH_INFO": f"/{repo.path.name}/{request.path_params['rest']}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.url.query,
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "REMOTE_USER": "x-access-token",
        "REMOTE_ADDR": request.client.host if request.client else "127.0.0.1",
    }
    if "git-protocol" in request.headers:
        request_env["GIT_PROTOCOL"] = request.headers["git-protocol"]
    if pusher is not None:  # http-backend enables receive-pack for an authenticated REMOTE_USER
        status, headers, payload = await run_in_threadpool(
            receive, sim(request), repo, pusher, lambda: _run_backend(repo, request_env, body)
        )
    else:
        status, headers, payload = await run_in_threadpool(_run_backend, repo, request_env, body)
    headers.pop("Content-Length", None)
    return Response(payload, status_code=status, headers=headers)


routes = [Route("/{owner}/{repo_git}/{rest:path}", smart_http, methods=["GET", "POST"])]
