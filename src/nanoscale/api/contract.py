"""The OpenAPI description is the contract: every status an operation can answer, with the
error schema, and the media types it can answer with.

Statuses that follow from how an operation is built are added here, once, for all of them:

    400  malformed JSON body            (operations with a body)
    413  body over the configured limit (operations with a body)
    422  input that fails validation    (operations with a body or query parameters)
    401  no or bad credentials          (operations that need a user)
    403  CSRF/Origin check failed       (unsafe operations that need a user), or not an admin
    404  no such object / not visible   (operations with path parameters)

Statuses that depend on what the service does (409, 429, 503, a 401/403 of its own) are
declared on the route with `errors(...)`. Every error answer has the body `error_body`
builds (`{"error": {"code", "message", "field"}}`); FastAPI's own validation-error schema
is not used because that is not what this API sends. A schemathesis run with all checks
keeps this true (tests/integration/test_openapi_contract.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel

from nanoscale.errors import is_api_path
from nanoscale.projects.validation import domain_refused_pattern, repo_url_pattern
from nanoscale.settings import Settings

ERROR_SCHEMA = "Error"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_DESCRIPTIONS = {
    400: "Malformed request (the body is not valid JSON)",
    401: "Not authenticated (no, expired or invalid session or API token)",
    403: "Not allowed (CSRF or Origin check failed, or not permitted)",
    404: "No such object, or not visible to this user",
    409: "Conflicts with the current state",
    413: "Request body over the configured limit",
    422: "Invalid input; `field` names it",
    429: "Too many attempts; retry after `Retry-After` seconds",
    503: "NanoScale or its host failed (proxy, disk, git host)",
}


class FieldProblem(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorDetail(FieldProblem):
    # Present when several fields are wrong at once; `code`/`message`/`field` repeat the first.
    errors: list[FieldProblem] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: these statuses answer with the error body."""
    return {s: {"model": ErrorResponse, "description": _DESCRIPTIONS[s]} for s in statuses}


# Log routes answer plain text, or Server-Sent Events when the client asks for them.
TEXT_OR_EVENTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The text, or a Server-Sent Events stream (`Accept: text/event-stream`)",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "text/event-stream": {"schema": {"type": "string"}},
        },
    }
}


def _calls(dependant: Dependant) -> set[str]:
    found = {getattr(dependant.call, "__name__", "")}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def _statuses(route: RouteContext, method: str) -> set[int]:
    dependant = route.dependant
    calls = _calls(dependant)
    found: set[int] = set()
    if route.body_field is not None:
        found |= {400, 413, 422}
    if dependant.query_params:
        found.add(422)
    if "current_auth" in calls:
        found.add(401)
        if method in UNSAFE_METHODS:
            found.add(403)
    if "require_admin" in calls:
        found.add(403)
    if dependant.path_params:
        found.add(404)
    return found


def _error_response(status: int) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    return {"description": _DESCRIPTIONS[status], "content": {"application/json": {"schema": ref}}}


def _settings_rules(components: dict[str, Any], settings: Settings) -> None:
    """The project rules that depend on settings: allowed git hosts, refused domains."""
    for name in ("ProjectCreate", "ProjectUpdate"):
        properties = components[name]["properties"]
        properties["repo_url"]["pattern"] = repo_url_pattern(settings)
        refused = properties["domain"]["not"]
        refused["pattern"] = f"{refused['pattern']}|{domain_refused_pattern(settings)}"


def describe(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components.pop("ErrorResponse", None)
    components[ERROR_SCHEMA] = ErrorResponse.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    nested = components[ERROR_SCHEMA].pop("$defs", {})
    components.update(nested)
    _settings_rules(components, app.state.context.settings)
    for route in iter_route_contexts(app.routes):  # included routers are resolved lazily
        path = route.path_format
        if not isinstance(route.original_route, APIRoute) or not path or not is_api_path(path):
            continue
        if not route.original_route.include_in_schema:  # e.g. GitHub's webhook and redirects
            continue
        for method in route.methods or set():
            operation = schema["paths"][path].get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
            for status in sorted(_statuses(route, method) | declared):
                responses[str(status)] = _error_response(status)
    return schema


def install_contract(app: FastAPI) -> None:
    """Serve `describe(app)` as /api/openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
