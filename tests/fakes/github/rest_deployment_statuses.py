"""Deployment statuses: create (with `auto_inactive`), list, get.

Follows https://docs.github.com/en/rest/deployments/statuses: `environment` given on a status
moves the deployment to it; `target_url` is the older name of `log_url`; a `success` status with
`auto_inactive` (default true) adds an `inactive` status to prior non-transient, non-production
deployments in the same environment that were `success`; a description is at most 140
characters; each creation emits `deployment_status`.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import acting_app
from .http import (
    BadJSON,
    gh_json,
    json_body,
    not_found,
    paginate,
    problems_parsing_json,
    sim,
    state_of,
    validation_errors,
)
from .payloads_deploy import deployment_status_event, deployment_status_json
from .records import Deployment, DeploymentStatus
from .rest_deployments import DEPLOYMENT, deployment_of, readable, writable
from .state import Installation, Repository

DOC = "/deployments/statuses"
STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
MAX_DESCRIPTION = 140  # "The maximum description length is 140 characters."


def _new_status(request: Request, deployment: Deployment, **fields: Any) -> DeploymentStatus:
    state, cred = state_of(request), request.state.credential
    now = state.clock.now()
    with state.lock:
        status = DeploymentStatus(
            id=state.next_id(50_000_000_000),
            environment=deployment.environment,
            creator=cred.user,
            app=acting_app(cred),
            created_at=now,
            updated_at=now,
            **fields,
        )
        deployment.statuses.append(status)
        deployment.updated_at = now
    return status


def _retire_previous(request: Request, deployment: Deployment) -> None:
    for other in state_of(request).deployments:
        if (
            other is not deployment
            and other.repo_id == deployment.repo_id
            and other.environment == deployment.environment
            and not other.transient_environment
            and not other.production_environment
            and other.state == "success"
        ):
            _new_status(
                request, other, state="inactive", description="", target_url="", log_url="",
                environment_url="",
            )  # fmt: skip


async def create_status(request: Request) -> Response:
    repo = writable(request)
    if isinstance(repo, Response):
        return repo
    deployment = deployment_of(request, repo)
    if deployment is None:
        return not_found(f"{DOC}#create-a-deployment-status")
    try:
        body = await json_body(request)
    except BadJSON:
        return problems_parsing_json()
    if body.get("state") not in STATES:
        error = {"resource": "DeploymentStatus", "field": "state", "code": "invalid"}
        return validation_errors([error], f"{DOC}#create-a-deployment-status")
    if len(str(body.get("description") or "")) > MAX_DESCRIPTION:
        error = {"resource": "DeploymentStatus", "field": "description", "code": "custom",
                 "message": "description is too long (maximum is 140 characters)"}  # fmt: skip
        return validation_errors([error], f"{DOC}#create-a-deployment-status")
    if body.get("environment"):
        deployment.environment = str(body["environment"])
    log_url = str(body.get("log_url") or body.get("target_url") or "")
    status = _new_status(
        request,
        deployment,
        state=body["state"],
        description=str(body.get("description") or ""),
        target_url=log_url,
        log_url=log_url,
        environment_url=str(body.get("environment_url") or ""),
    )
    if status.state == "success" and body.get("auto_inactive", True):
        _retire_previous(request, deployment)
    await run_in_threadpool(_announce, request, repo, deployment, status)
    out = deployment_status_json(state_of(request), repo, deployment, status)
    return gh_json(out, 201, {"Location": out["url"]})


def _announce(
    request: Request, repo: Repository, deployment: Deployment, status: DeploymentStatus
) -> None:
    state = state_of(request)

    def build(inst: Installation | None) -> dict[str, Any]:
        return deployment_status_event(state, repo, deployment, status, inst)

    sim(request).emit_repo_event(repo, "deployment_status", build)


async def list_statuses(request: Request) -> Response:
    repo = readable(request)
    if isinstance(repo, Response):
        return repo
    deployment = deployment_of(request, repo)
    if deployment is None:
        return not_found(f"{DOC}#list-deployment-statuses")
    page, headers = paginate(request, list(reversed(deployment.statuses)))
    state = state_of(request)
    body = [deployment_status_json(state, repo, deployment, s) for s in page]
    return gh_json(body, headers=headers)


async def get_status(request: Request) -> Response:
    repo = readable(request)
    if isinstance(repo, Response):
        return repo
    deployment = deployment_of(request, repo)
    wanted = request.path_params["status_id"]
    found = next((s for s in deployment.statuses if s.id == wanted), None) if deployment else None
    if deployment is None or found is None:
        return not_found(f"{DOC}#get-a-deployment-status")
    return gh_json(deployment_status_json(state_of(request), repo, deployment, found))


routes = [
    Route(f"{DEPLOYMENT}/statuses", list_statuses, methods=["GET"]),
    Route(f"{DEPLOYMENT}/statuses", create_status, methods=["POST"]),
    Route(DEPLOYMENT + "/statuses/{status_id:int}", get_status, methods=["GET"]),
]
