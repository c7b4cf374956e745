"""REST for repositories: metadata, branches and commits. Private ones 404 without access."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import gitstore
from .auth import Credential, can_see, permission
from .http import gh_error, gh_json, not_found, paginate, state_of
from .payloads import repo_json
from .payloads_repo import branch_json, branch_short_json, commit_json
from .state import Repository

MOVED_DOC = "https://docs.github.com/rest/repos/repos#get-a-repository"


def lookup(request: Request) -> Repository | Response:
    """The repository named in the path, or GitHub's 404 / 301-after-rename answer."""
    state, cred = state_of(request), request.state.credential
    params = request.path_params
    if "repository_id" in params:
        repo = state.repos.get(params["repository_id"])
    else:
        repo = state.repo(params["owner"], params["repo"])
        if repo is None:
            moved = state.renamed_repo(params["owner"], params["repo"])
            if moved is not None and can_see(state, cred, moved):
                url = f"{state.api_url}/repositories/{moved.id}"
                body = {"message": "Moved Permanently", "url": url, "documentation_url": MOVED_DOC}
                return gh_json(body, 301, {"Location": url})
    if repo is None or not can_see(state, cred, repo):
        return not_found("/repos/repos#get-a-repository")
    return repo


def _user_permission(request: Request, repo: Repository) -> str | None:
    cred: Credential = request.state.credential
    return state_of(request).user_permission(cred.user, repo) if cred.user else None


async def get_repo(request: Request) -> Response:
    repo = lookup(request)
    if isinstance(repo, Response):
        return repo
    perm = _user_permission(request, repo)
    body = await run_in_threadpool(repo_json, state_of(request), repo, permission=perm)
    return gh_json(body)


def _readable(request: Request, repo: Repository) -> bool:
    """Contents need the contents permission unless the repository is public."""
    cred: Credential = request.state.credential
    if not repo.private or cred.kind == "anonymous":
        return True
    return permission(state_of(request), cred, repo, "contents") != "none"


async def list_branches(request: Request) -> Response:
    repo = lookup(request)
    if isinstance(repo, Response):
        return repo
    if not _readable(request, repo):
        return not_found("/branches/branches#list-branches")
    state = state_of(request)
    branches = await run_in_threadpool(gitstore.refs, repo.path, "refs/heads/")
    page, headers = paginate(request, branches)
    return gh_json([branch_short_json(state, repo, n, sha) for n, sha in page], headers=headers)


async def get_branch(request: Request) -> Response:
    repo = lookup(request)
    if isinstance(repo, Response):
        return repo
    name = request.path_params["branch"]
    sha = await run_in_threadpool(gitstore.resolve, repo.path, f"refs/heads/{name}")
    if sha is None or not _readable(request, repo):
        return not_found("/branches/branches#get-a-branch")
    body = await run_in_threadpool(branch_json, state_of(request), repo, name, sha)
    return gh_json(body)


async def get_commit(request: Request) -> Response:
    repo = lookup(request)
    if isinstance(repo, Response):
        return repo
    ref = request.path_params["ref"]
    sha = await run_in_threadpool(gitstore.resolve, repo.path, ref)
    if sha is None or not _readable(request, repo):
        message = f"No commit found for SHA: {ref}"
        return gh_error(422 if sha is None else 404, message, "/commits/commits#get-a-commit")
    body = await run_in_threadpool(commit_json, state_of(request), repo, sha)
    return gh_json(body)


REPO = "/api/v3/repos/{owner}/{repo}"
routes = [
    Route(REPO, get_repo, methods=["GET"]),
    Route("/api/v3/repositories/{repository_id:int}", get_repo, methods=["GET"]),
    Route(f"{REPO}/branches", list_branches, methods=["GET"]),
    Route(REPO + "/branches/{branch:path}", get_branch, methods=["GET"]),
    Route(REPO + "/commits/{ref:path}", get_commit, methods=["GET"]),
]
