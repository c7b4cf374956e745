"""Commit statuses: create one for a SHA, read a ref's combined status and its status list.

Follows https://docs.github.com/en/rest/commits/statuses: writing needs the App permission
`statuses: write` and reading `statuses: read` (an installation token without it gets 403
"Resource not accessible by integration"); at most 1000 statuses per SHA and context (422
after); statuses created with an installation token are by the App's bot; each creation emits
the `status` event.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import gitstore
from .auth import Credential, acting_app, may_write
from .http import (
    BadJSON,
    gh_error,
    gh_json,
    json_body,
    paginate,
    problems_parsing_json,
    sim,
    state_of,
    validation_errors,
)
from .payloads_deploy import combined_json, status_event, status_json
from .records import CommitStatus
from .rest_deployments import read_refused
from .rest_repos import lookup
from .state import Installation, Repository

DOC = "/commits/statuses"
STATES = ("error", "failure", "pending", "success")
MAX_PER_CONTEXT = 1000  # "a limit of 1000 statuses per sha and context within a repository"
NOT_ACCESSIBLE = "Resource not accessible by integration"


def _statuses(request: Request, repo: Repository, sha: str) -> list[CommitStatus]:
    found = [s for s in state_of(request).commit_statuses if s.repo_id == repo.id and s.sha == sha]
    return sorted(found, key=lambda s: s.id, reverse=True)


async def create_status(request: Request) -> Response:
    repo = lookup(request)
    if isinstance(repo, Response):
        return repo
    state, cred = state_of(request), request.state.credential
    if cred.kind == "anonymous":
        return gh_error(401, "Requires authentication", DOC)
    if not may_write(state, cred, repo, "statuses"):
        return gh_error(403, NOT_ACCESSIBLE, f"{DOC}#create-a-commit-status")
    sha = request.path_params["sha"]
    if await run_in_threadpool(gitstore.resolve, repo.path, sha) != sha:
        return validation_errors(
            [{"resource": "Status", "code": "custom", "message": f"No commit found for SHA: {sha}"}]
        )
    try:
        body = await json_body(request)
    except BadJSON:
        return problems_parsing_json()
    if body.get("state") not in STATES:
        error = {"resource": "Status", "field": "state", "code": "invalid"}
        return validation_errors([error], f"{DOC}#create-a-commit-status")
    context = str(body.get("context") or "default")
    if sum(1 for s in _statuses(request, repo, sha) if s.context == context) >= MAX_PER_CONTEXT:
        message = "This SHA and context has reached the maximum number of statuses."
        error = {"resource": "Status", "code": "custom", "message": message}
        return validation_errors([error], f"{DOC}#create-a-commit-status")
    status = _record(request, repo, cred, sha, body)
    await run_in_threadpool(_announce, request, repo, status)
    body_out = status_json(state, repo, status)
    return gh_json(body_out, 201, {"Location": body_out["url"]})


def _record(
    request: Request, repo: Repository, cred: Credential, sha: str, body: dict[str, Any]
) -> CommitStatus:
    state = state_of(request)
    now = state.clock.now()
    with state.lock:
        status = CommitStatus(
            id=state.next_id(30_000_000_000),
            repo_id=repo.id,
            sha=sha,
            state=body["state"],
            context=str(body.get("context") or "default"),
            target_url=body.get("target_url"),
            description=body.get("description"),
            creator=cred.user,
            app=acting_app(cred),
            created_at=now,
            updated_at=now,
        )
        state.commit_statuses.append(status)
    return status


def _announce(request: Request, repo: Repository, status: CommitStatus) -> None:
    state = state_of(request)

    def build(inst: Installation | None) -> dict[str, Any]:
        return status_event(state, repo, status, inst)

    sim(request).emit_repo_event(repo, "status", build)


async def _ref_statuses(request: Request) -> tuple[Repository, str] | Response:
    repo = lookup(request)
    if isinstance(repo, Response):
        return repo
    refused = read_refused(request, repo, "statuses", DOC)
    if refused is not None:
        return refused
    ref = request.path_params["ref"]
    sha = await run_in_threadpool(gitstore.resolve, repo.path, ref)
    if sha is None:
        return gh_error(404, f"No commit found for SHA: {ref}", DOC)
    return repo, sha


async def combined_status(request: Request) -> Response:
    found = await _ref_statuses(request)
    if isinstance(found, Response):
        return found
    repo, sha = found
    body = combined_json(state_of(request), repo, sha, _statuses(request, repo, sha))
    return gh_json(body)


async def list_statuses(request: Request) -> Response:
    found = await _ref_statuses(request)
    if isinstance(found, Response):
        return found
    repo, sha = found
    page, headers = paginate(request, _statuses(request, repo, sha))
    return gh_json([status_json(state_of(request), repo, s) for s in page], headers=headers)


REPO = "/api/v3/repos/{owner}/{repo}"
# Before rest_repos: its /commits/{ref:path} would swallow ".../status".
routes = [
    Route(REPO + "/statuses/{sha}", create_status, methods=["POST"]),
    Route(REPO + "/commits/{ref:path}/status", combined_status, methods=["GET"]),
    Route(REPO + "/commits/{ref:path}/statuses", list_statuses, methods=["GET"]),
]
