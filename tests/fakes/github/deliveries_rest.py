"""Delivery log representations (`hook-delivery-item`, `hook-delivery`)."""

from __future__ import annotations

import json
from typing import Any

from .state import Delivery, iso


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
