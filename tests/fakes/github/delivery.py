"""Webhook delivery: GitHub's headers and signatures, a delivery log, redelivery and faults.

Transport is pluggable: real HTTP by default, any `httpx.BaseTransport` (e.g. a WSGI app), or a
plain callable. With `deferred=True` deliveries queue until `flush()` / `aflush()`, which lets an
in-process async test deliver through `httpx.ASGITransport` deterministically.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import httpx

from .state import Delivery, SimState

HOOKSHOT = "GitHub-Hookshot/7d5e3a1"
DeliveryCallable = Callable[[str, dict[str, str], bytes], tuple[int, dict[str, str], str]]
Listener = Callable[[Delivery], object]


def sign(secret: str, body: bytes, algorithm: str = "sha256") -> str:
    digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
    return f"{algorithm}={digest}"


@dataclass
class DeliveryFaults:
    drop_next: int = 0  # the next n deliveries never reach the receiver
    latency: float = 0.0  # seconds before each delivery is sent
    timeout: float = 10.0  # GitHub gives a receiver about ten seconds


class Deliverer:
    def __init__(
        self,
        state: SimState,
        *,
        transport: httpx.BaseTransport | DeliveryCallable | None = None,
        deferred: bool = False,
    ) -> None:
        self.state = state
        self.transport = transport
        self.deferred = deferred
        self.pending: list[Delivery] = []
        self.faults = DeliveryFaults()
        self.listeners: list[Listener] = []

    def new_delivery(self, **fields: Any) -> Delivery:
        """Build, sign and log a delivery; send it now unless deferred."""
        with self.state.lock:
            delivery = Delivery(
                id=self.state.next_id(8_000_000_000),
                guid=str(uuid.uuid4()),
                delivered_at=self.state.clock.now(),  # until sent: when it was queued
                **fields,
            )
            self._encode(delivery)
            self.state.deliveries.append(delivery)
        for listener in self.listeners:
            listener(delivery)
        self._dispatch(delivery)
        return delivery

    def redeliver(self, original: Delivery) -> Delivery:
        """Same guid and payload; GitHub logs it as a new attempt with `redelivery: true`."""
        with self.state.lock:
            delivery = replace(
                original,
                id=self.state.next_id(8_000_000_000),
                redelivery=True,
                status="pending",
                status_code=0,
                delivered_at=self.state.clock.now(),
                response_body=None,
                response_headers={},
            )
            self.state.deliveries.append(delivery)
        self._dispatch(delivery)
        return delivery

    def _encode(self, delivery: Delivery) -> None:
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

    def _dispatch(self, delivery: Delivery) -> None:
        if self.deferred:
            self.pending.append(delivery)
        else:
            self._send(delivery)

    def flush(self) -> list[Delivery]:
        sent, self.pending = self.pending, []
        for delivery in sent:
            self._send(delivery)
        return sent

    async def aflush(self, transport: httpx.AsyncBaseTransport) -> list[Delivery]:
        sent, self.pending = self.pending, []
        async with httpx.AsyncClient(transport=transport, timeout=self.faults.timeout) as client:
            for delivery in sent:
                started = time.monotonic()
                try:
                    resp = await client.post(
                        delivery.url, content=delivery.body, headers=delivery.request_headers
                    )
                    self._record(delivery, started, resp.status_code, dict(resp.headers), resp.text)
                except httpx.HTTPError as exc:
                    self._record_failure(delivery, started, exc)
        return sent

    def _send(self, delivery: Delivery) -> None:
        started = time.monotonic()
        if self.faults.latency:
            time.sleep(self.faults.latency)
        if self.faults.drop_next > 0:
            self.faults.drop_next -= 1
            self._record(delivery, started, 0, {}, None, status="failed to connect to host")
            return
        if callable(self.transport) and not isinstance(self.transport, httpx.BaseTransport):
            status, headers, text = self.transport(
                delivery.url, dict(delivery.request_headers), delivery.body
            )
            self._record(delivery, started, status, headers, text)
            return
        try:
            with httpx.Client(transport=self.transport, timeout=self.faults.timeout) as client:
                resp = client.post(
                    delivery.url, content=delivery.body, headers=delivery.request_headers
                )
            self._record(delivery, started, resp.status_code, dict(resp.headers), resp.text)
        except httpx.HTTPError as exc:
            self._record_failure(delivery, started, exc)

    def _record_failure(self, delivery: Delivery, started: float, exc: Exception) -> None:
        status = (
            "timed out" if isinstance(exc, httpx.TimeoutException) else "failed to connect to host"
        )
        self._record(delivery, started, 0, {}, None, status=status)

    def _record(
        self,
        delivery: Delivery,
        started: float,
        code: int,
        headers: dict[str, str],
        text: str | None,
        *,
        status: str | None = None,
    ) -> None:
        delivery.delivered_at = self.state.clock.now()
        delivery.duration = round(time.monotonic() - started, 3)
        delivery.status_code = code
        delivery.status = status or (
            "OK" if 200 <= code < 300 else f"Invalid HTTP Response: {code}"
        )
        delivery.response_headers, delivery.response_body = headers, text
        self._update_hook(delivery, code)

    def _update_hook(self, delivery: Delivery, code: int) -> None:
        """A repository hook shows its latest delivery result as `last_response`."""
        if delivery.target_type != "repository":
            return
        repo = self.state.repos.get(delivery.target_id)
        hook = repo.hooks.get(delivery.hook_id) if repo else None
        if hook is not None:
            status = "active" if 200 <= code < 300 else "failed"
            hook.last_response = {
                "code": code or None,
                "status": status,
                "message": delivery.status,
            }
