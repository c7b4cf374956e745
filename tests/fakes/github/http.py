"""GitHub-shaped HTTP responses: JSON bodies, error bodies and Link-header pagination."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from .state import SimState

if TYPE_CHECKING:  # the simulator imports the route modules that import this one
    from .simulator import GitHubSimulator

T = TypeVar("T")
DOCS = "https://docs.github.com/rest"
MEDIA_TYPE = "github.v3; format=json"
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class GitHubJSON(Response):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, indent=2).encode()


def gh_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return GitHubJSON(body, status_code=status, headers=headers)


def gh_error(
    status: int, message: str, doc: str = "", headers: dict[str, str] | None = None
) -> Response:
    body = {"message": message, "documentation_url": f"{DOCS}{doc}", "status": str(status)}
    return gh_json(body, status, headers)


def not_found(doc: str = "") -> Response:
    return gh_error(404, "Not Found", doc)


async def unknown_route(request: Request) -> Response:
    """Any REST path or method the simulator does not serve: GitHub's JSON 404 (GitHub answers
    unknown routes and methods alike with `{"message": "Not Found", ...}`, see
    https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api)."""
    return not_found()


def no_content() -> Response:
    return Response(status_code=204)


def validation_failed(message: str, doc: str = "") -> Response:
    return gh_error(422, message, doc)


def validation_errors(errors: list[dict[str, Any]], doc: str = "") -> Response:
    """GitHub's 422 with an `errors` list (the `validation-error` schema)."""
    body = {"message": "Validation Failed", "errors": errors, "documentation_url": f"{DOCS}{doc}"}
    return gh_json(body, 422)


class BadJSON(Exception):
    """The request body is not a JSON object; GitHub answers 400."""


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadJSON from exc
    if not isinstance(body, dict):
        raise BadJSON
    return body


def problems_parsing_json() -> Response:
    return gh_error(400, "Problems parsing JSON")


def sim(request: Request) -> GitHubSimulator:
    """The GitHubSimulator serving this request."""
    simulator: GitHubSimulator = request.app.state.sim
    return simulator


def state_of(request: Request) -> SimState:
    st: SimState = request.app.state.sim.state
    return st


def paginate(request: Request, items: Sequence[T]) -> tuple[list[T], dict[str, str]]:
    """Slice items by page/per_page (max 100) and build GitHub's Link header."""
    try:
        per_page = min(max(int(request.query_params.get("per_page", 30)), 1), 100)
        page = max(int(request.query_params.get("page", 1)), 1)
    except ValueError:
        per_page, page = 30, 1
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = list(items[(page - 1) * per_page : page * per_page])
    links = []
    rels = {"prev": page - 1, "next": page + 1, "last": last, "first": 1}
    for rel, number in rels.items():
        if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last):
            url = request.url.include_query_params(page=number, per_page=per_page)
            links.append(f'<{url}>; rel="{rel}"')
    return chunk, ({"Link": ", ".join(links)} if links else {})
