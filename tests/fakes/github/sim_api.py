"""HTTP control API under /_sim/ (the same operations as the Python methods on the simulator).

POST /_sim/repos/{owner}/{repo}/{action} with a JSON body, where action is one of: commit,
force-push, create-branch, delete-branch, create-tag, delete-tag, rename, transfer, archive,
unarchive, delete, publicize, privatize. POST /_sim/installations/{id}/{suspend|unsuspend|
uninstall}; POST /_sim/clock {"advance": seconds}; POST/DELETE /_sim/faults; POST
/_sim/rate-limits; POST /_sim/deliveries/wait {"timeout": s}; GET /_sim/world.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .http import sim
from .pushes import SimError
from .state import Repository

Action = Callable[[Any, Repository, dict[str, Any]], Any]

REPO_ACTIONS: dict[str, Action] = {
    "commit": lambda s, r, b: s.commit(
        r, b.get("branch", r.default_branch), b.get("files", {}), message=b.get("message", "Update")
    ),
    "force-push": lambda s, r, b: s.force_push(
        r, b["branch"], to=b.get("to"), files=b.get("files")
    ),
    "create-branch": lambda s, r, b: s.create_branch(r, b["name"], from_ref=b.get("from")),
    "delete-branch": lambda s, r, b: s.delete_branch(r, b["name"]),
    "create-tag": lambda s, r, b: s.create_tag(r, b["name"], ref=b.get("ref")),
    "delete-tag": lambda s, r, b: s.delete_tag(r, b["name"]),
    "rename": lambda s, r, b: s.rename_repo(r, b["name"]),
    "transfer": lambda s, r, b: s.transfer_repo(r, s.state.account(b["new_owner"])),
    "archive": lambda s, r, b: s.archive_repo(r),
    "unarchive": lambda s, r, b: s.unarchive_repo(r),
    "delete": lambda s, r, b: s.delete_repo(r),
    "publicize": lambda s, r, b: s.set_visibility(r, private=False),
    "privatize": lambda s, r, b: s.set_visibility(r, private=True),
}  # creating a repository: POST /_sim/accounts/{login}/repos (sim_api_apps)  # fmt: skip


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else {}


async def repo_action(request: Request) -> Response:
    simulator, p = sim(request), request.path_params
    repo = simulator.state.repo(p["owner"], p["repo"])
    action = REPO_ACTIONS.get(p["action"])
    if repo is None or action is None:
        return JSONResponse({"error": "unknown repository or action"}, 404)
    body = await _body(request)
    try:
        result = await run_in_threadpool(action, simulator, repo, body)
    except (SimError, KeyError) as exc:
        return JSONResponse({"error": str(exc)}, 422)
    return JSONResponse({"result": result})


async def installation_action(request: Request) -> Response:
    simulator = sim(request)
    inst = simulator.state.installations.get(request.path_params["installation_id"])
    actions = {
        "suspend": simulator.suspend,
        "unsuspend": simulator.unsuspend,
        "uninstall": simulator.uninstall,
    }
    action = actions.get(request.path_params["action"])
    if inst is None or action is None:
        return JSONResponse({"error": "unknown installation or action"}, 404)
    await run_in_threadpool(action, inst)
    return JSONResponse({"result": None})


async def clock(request: Request) -> Response:
    simulator = sim(request)
    simulator.state.clock.advance(float((await _body(request)).get("advance", 0)))
    return JSONResponse({"now": simulator.state.clock.now().isoformat()})


async def faults(request: Request) -> Response:
    simulator = sim(request)
    if request.method == "DELETE":
        simulator.faults.clear()
        simulator.deliverer.faults.drop_next = 0
        simulator.deliverer.faults.drop_target = None
        return JSONResponse({"result": None})
    body = await _body(request)
    if "drop_deliveries" in body:
        simulator.deliverer.faults.drop_next = int(body["drop_deliveries"])
        simulator.deliverer.faults.drop_target = body.get("target_type")  # None: any hook
        return JSONResponse({"result": None})
    simulator.faults.add(
        body["path"],
        method=body.get("method", "*"),
        status=body.get("status"),
        latency=float(body.get("latency", 0)),
        hang=float(body.get("hang", 0)),
        times=body.get("times"),
        rate_limited=bool(body.get("rate_limited", False)),
    )
    return JSONResponse({"result": None})


async def rate_limits(request: Request) -> Response:
    limits, body = sim(request).rate_limits, await _body(request)
    if "kind" in body:
        limits.set_limit(body["kind"], int(body["limit"]))
    if "secondary_per_minute" in body:
        limits.secondary_per_minute = body["secondary_per_minute"]
    if "secondary_next" in body:
        limits.secondary_next = int(body["secondary_next"])
    if "status" in body:  # GitHub answers a spent primary limit with 403 or 429
        if body["status"] not in (403, 429):
            return JSONResponse({"error": "status must be 403 or 429"}, 422)
        limits.status = int(body["status"])
    return JSONResponse({"result": None})


async def wait_deliveries(request: Request) -> Response:
    """Answer once no webhook delivery is in flight (or after `timeout` seconds)."""
    deliverer = sim(request).deliverer
    timeout = float((await _body(request)).get("timeout", 30))
    idle = await run_in_threadpool(deliverer.wait_idle, timeout)
    return JSONResponse({"idle": idle, "in_flight": deliverer.in_flight})


async def world(request: Request) -> Response:
    return JSONResponse(sim(request).describe())


routes = [
    Route("/_sim/repos/{owner}/{repo}/{action}", repo_action, methods=["POST"]),
    Route(
        "/_sim/installations/{installation_id:int}/{action}", installation_action, methods=["POST"]
    ),
    Route("/_sim/clock", clock, methods=["POST"]),
    Route("/_sim/faults", faults, methods=["POST", "DELETE"]),
    Route("/_sim/rate-limits", rate_limits, methods=["POST"]),
    Route("/_sim/deliveries/wait", wait_deliveries, methods=["POST"]),
    Route("/_sim/world", world, methods=["GET"]),
]
