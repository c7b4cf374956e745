"""What a delivery looks like on the wire: GitHub's headers, body encodings and signatures.

Follows https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers and
https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from urllib.parse import urlencode

from .state import Delivery

HOOKSHOT = "GitHub-Hookshot/7d5e3a1"


def new_guid() -> str:
    return str(uuid.uuid4())


def sign(secret: str, body: bytes, algorithm: str = "sha256") -> str:
    digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    return f"{algorithm}={digest}"


def encode(delivery: Delivery) -> None:
    """The body and headers exactly as they go on the wire (and are signed)."""
    raw = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    if delivery.content_type == "form":
        body, ctype = (
            urlencode({"payload": raw.decode()}).encode(),
            "application/x-www-form-urlencoded",
        )
    else:
        body, ctype = raw, "application/json"
    headers = {
        "Accept": "*/*",
        "Content-Type": ctype,
        "User-Agent": HOOKSHOT,
        "X-GitHub-Delivery": delivery.guid,
        "X-GitHub-Event": delivery.event,
        "X-GitHub-Hook-ID": str(delivery.hook_id),
        "X-GitHub-Hook-Installation-Target-ID": str(delivery.target_id),
        "X-GitHub-Hook-Installation-Target-Type": delivery.target_type,
    }
    if delivery.secret:
        headers["X-Hub-Signature"] = sign(delivery.secret, body, "sha1")
        headers["X-Hub-Signature-256"] = sign(delivery.secret, body)
    delivery.body, delivery.request_headers = body, headers
