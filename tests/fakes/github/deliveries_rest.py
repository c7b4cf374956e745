"""Delivery log representations (`hook-delivery-item`, `hook-delivery`)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .http import gh_json, validation_failed
from .state import Delivery, SimState, iso

CURSOR_PREFIX = "v1_"
# "You can redeliver webhook deliveries that occurred in the past 3 days", and only those are
# listed (https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/redelivering-webhooks).
RETENTION = timedelta(days=3)


def recent(state: SimState, newest_first: list[Delivery]) -> list[Delivery]:
    """The deliveries GitHub still shows: those of the past 3 days."""
    oldest = state.clock.now() - RETENTION
    return [d for d in newest_first if d.delivered_at is None or d.delivered_at >= oldest]


def delivery_item_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "guid": delivery.guid,
        "delivered_at": iso(delivery.delivered_at) if delivery.delivered_at else None,
        "redelivery": delivery.redelivery,
        "duration": delivery.duration,
        "status": delivery.status,
        "status_code": delivery.status_code,
        "event": delivery.event,
        "action": delivery.action,
        "installation_id": delivery.installation_id,
        "repository_id": delivery.repository_id,
        "throttled_at": None,
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    response: Any = delivery.response_body
    return {
        **delivery_item_json(delivery),
        "url": delivery.url,
        "request": {
            "headers": dict(delivery.request_headers),
            "payload": json.loads(json.dumps(delivery.payload)),
        },
        "response": {"headers": dict(delivery.response_headers), "payload": response},
    }


def delivery_page(request: Request, newest_first: list[Delivery]) -> Response:
    """A delivery listing as GitHub pages it: by `cursor` (never `page`), with `status` and
    `redelivery` filters (https://docs.github.com/en/rest/webhooks/repo-deliveries#list-deliveries-for-a-repository-webhook).

    `status=success` keeps status codes 200-399, `failure` 400-599; the cursor names the last
    delivery of the previous page and comes back in the `Link` header."""
    query = request.query_params
    found = newest_first
    if query.get("status") not in (None, "success", "failure"):
        return validation_failed("Invalid status; use success or failure.")
    if query.get("status"):
        low = 200 if query["status"] == "success" else 400
        found = [d for d in found if low <= d.status_code <= low + 199]
    if query.get("redelivery") in ("true", "false"):
        found = [d for d in found if d.redelivery == (query["redelivery"] == "true")]
    cursor = query.get("cursor")
    if cursor:
        try:
            after = int(cursor.removeprefix(CURSOR_PREFIX))
        except ValueError:
            return validation_failed("Invalid cursor.")
        found = [d for d in found if d.id < after]
    try:
        per_page = min(max(int(query.get("per_page", 30)), 1), 100)
    except ValueError:
        per_page = 30
    page, headers = found[:per_page], {}
    if len(found) > per_page:
        following = request.url.include_query_params(cursor=f"{CURSOR_PREFIX}{page[-1].id}")
        headers["Link"] = f'<{following}>; rel="next"'
    return gh_json([delivery_item_json(d) for d in page], headers=headers)
