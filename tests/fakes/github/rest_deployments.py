"""Deployments: create (with the commit-status gate), list with filters, get, delete.

Follows https://docs.github.com/en/rest/deployments/deployments: writing needs the App
permission `deployments: write` and reading `deployments: read` (an installation token without
it gets 403 "Resource not accessible by integration"); `required_contexts` omitted means every
context on the commit must be `success` (409 otherwise); only an inactive deployment (or the
only one in its environment) may be deleted; each creation emits the `deployment` event.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import gitstore
from .auth import Credential, acting_app, can_see, may_read, may_write
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
    validation_failed,
)
from .payloads_deploy import deployment_event, deployment_json, latest_per_context
from .records import Deployment
from .rest_repos import lookup
from .state import Installation, Repository

DOC = "/deployments/deployments"
NOT_ACCESSIBLE = "Resource not accessible by integration"
FILTERS = ("sha", "ref", "task", "environment")


def writable(request: Request) -> Repository | Response:
    repo = lookup(request)
    if isinstance(repo, Response):
        return repo
    cred: Credential = request.state.credential
    if cred.kind == "anonymous":
        return gh_error(401, "Requires authentication", DOC)
    if not may_write(state_of(request), cred, repo, "deployments"):
        return gh_error(403, NOT_ACCESSIBLE, DOC)
    return repo


def readable(request: Request) -> Repository | Response:
    repo = lookup(request)
    if isinstance(repo, Response):
        return repo
    return read_refused(request, repo, "deployments", DOC) or repo


def read_refused(request: Request, repo: Repository, name: str, doc: str) -> Response | None:
    """An App token that reaches the repository but lacks the permission gets GitHub's 403
    "Resource not accessible by integration"; anyone else who may not read it, a 404."""
    state, cred = state_of(request), request.state.credential
    if may_read(state, cred, repo, name):
        return None
    if cred.installation_token is not None and can_see(state, cred, repo):
        return gh_error(403, NOT_ACCESSIBLE, doc)
    return not_found(doc)


def deployment_of(request: Request, repo: Repository) -> Deployment | None:
    wanted = request.path_params["deployment_id"]
    found = (d for d in state_of(request).deployments if d.id == wanted and d.repo_id == repo.id)
    return next(found, None)


def _gate(request: Request, repo: Repository, sha: str, required: list[str] | None) -> list[Any]:
    """Contexts that block the deployment (their latest state is not success)."""
    state = state_of(request)
    statuses = [s for s in state.commit_statuses if s.repo_id == repo.id and s.sha == sha]
    latest = {s.context: s.state for s in latest_per_context(statuses)}
    wanted = list(latest) if required is None else required
    return [
        {"context": c, "state": latest.get(c, "missing")}
        for c in wanted
        if latest.get(c) != "success"
    ]


def _needs_merge(repo: Repository, ref: str) -> bool:
    """auto_merge applies when a branch other than the default one lacks the default's tip."""
    if ref == repo.default_branch or gitstore.resolve(repo.path, f"refs/heads/{ref}") is None:
        return False
    tip = gitstore.resolve(repo.path, f"refs/heads/{repo.default_branch}")
    return tip is not None and not gitstore.is_ancestor(repo.path, tip, f"refs/heads/{ref}")


async def create_deployment(request: Request) -> Response:
    repo = writable(request)
    if isinstance(repo, Response):
        return repo
    try:
        body = await json_body(request)
    except BadJSON:
        return problems_parsing_json()
    ref = body.get("ref")
    if not isinstance(ref, str) or not ref:
        return validation_failed('Invalid request.\n\n"ref" wasn\'t supplied.', DOC)
    sha = await run_in_threadpool(gitstore.resolve, repo.path, ref)
    if sha is None:
        return validation_failed(f"No ref found for: {ref}", f"{DOC}#create-a-deployment")
    if body.get("auto_merge", True) and await run_in_threadpool(_needs_merge, repo, ref):
        message = f"Conflict merging {repo.default_branch} into {ref}."
        return gh_error(409, message, f"{DOC}#create-a-deployment")
    blocked = _gate(request, repo, sha, body.get("required_contexts"))
    if blocked:
        error = {"contexts": blocked, "resource": "Deployment", "field": "required_contexts"}
        answer = {
            "message": f"Conflict: Commit status checks failed for {ref}.",
            "errors": [{**error, "code": "invalid"}],
            "documentation_url": f"https://docs.github.com/rest{DOC}#create-a-deployment",
        }
        return gh_json(answer, 409)
    deployment = _record(request, repo, ref, sha, body)
    await run_in_threadpool(_announce, request, repo, deployment)
    return gh_json(deployment_json(state_of(request), repo, deployment), 201)


def _record(
    request: Request, repo: Repository, ref: str, sha: str, body: dict[str, Any]
) -> Deployment:
    state, cred = state_of(request), request.state.credential
    environment = str(body.get("environment") or "production")
    now = state.clock.now()
    with state.lock:
        deployment = Deployment(
            id=state.next_id(40_000_000_000),
            repo_id=repo.id,
            sha=sha,
            ref=ref,
            task=str(body.get("task") or "deploy"),
            environment=environment,
            description=body.get("description", ""),
            payload=body.get("payload") or {},
            transient_environment=bool(body.get("transient_environment", False)),
            production_environment=bool(
                body.get("production_environment", environment == "production")
            ),
            creator=cred.user,
            app=acting_app(cred),
            created_at=now,
            updated_at=now,
        )
        state.deployments.append(deployment)
    return deployment


def _announce(request: Request, repo: Repository, deployment: Deployment) -> None:
    state = state_of(request)

    def build(inst: Installation | None) -> dict[str, Any]:
        return deployment_event(state, repo, deployment, inst)

    sim(request).emit_repo_event(repo, "deployment", build)


async def list_deployments(request: Request) -> Response:
    repo = readable(request)
    if isinstance(repo, Response):
        return repo
    query = request.query_params
    found = [d for d in state_of(request).deployments if d.repo_id == repo.id]
    for name in FILTERS:
        if query.get(name):
            found = [d for d in found if getattr(d, name) == query[name]]
    page, headers = paginate(request, sorted(found, key=lambda d: d.id, reverse=True))
    state = state_of(request)
    return gh_json([deployment_json(state, repo, d) for d in page], headers=headers)


async def get_deployment(request: Request) -> Response:
    repo = readable(request)
    if isinstance(repo, Response):
        return repo
    deployment = deployment_of(request, repo)
    if deployment is None:
        return not_found(f"{DOC}#get-a-deployment")
    return gh_json(deployment_json(state_of(request), repo, deployment))


async def delete_deployment(request: Request) -> Response:
    repo = writable(request)
    if isinstance(repo, Response):
        return repo
    deployment = deployment_of(request, repo)
    if deployment is None:
        return not_found(f"{DOC}#delete-a-deployment")
    state = state_of(request)
    peers = [
        d
        for d in state.deployments
        if d.repo_id == repo.id and d.environment == deployment.environment
    ]
    if deployment.state != "inactive" and len(peers) > 1:
        message = (
            "We cannot delete an active deployment unless it is the only deployment in a given "
            "environment."
        )
        return validation_failed(message, f"{DOC}#delete-a-deployment")
    with state.lock:
        state.deployments.remove(deployment)
    return no_content()


DEPLOYMENTS = "/api/v3/repos/{owner}/{repo}/deployments"
DEPLOYMENT = DEPLOYMENTS + "/{deployment_id:int}"
routes = [
    Route(DEPLOYMENTS, list_deployments, methods=["GET"]),
    Route(DEPLOYMENTS, create_deployment, methods=["POST"]),
    Route(DEPLOYMENT, get_deployment, methods=["GET"]),
    Route(DEPLOYMENT, delete_deployment, methods=["DELETE"]),
]
