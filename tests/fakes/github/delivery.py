"""Webhook delivery: GitHub's headers and signatures, a delivery log, redelivery and faults.

As on GitHub (https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks
and https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/troubleshooting-webhooks):
deliveries leave in the background and concurrently, so the App's and a repository hook's copies
of one event can race; a receiver gets 10 seconds; a failed delivery is never retried on its own;
a payload over 25 MB is not delivered. `wait_idle()` lets a test wait until nothing is in flight.

Transport is pluggable: real HTTP by default, any `httpx.BaseTransport` (e.g. a WSGI app), or a
plain callable. With `deferred=True` deliveries queue until `flush()` / `aflush()`, which lets an
in-process async test deliver through `httpx.ASGITransport` deterministically.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import httpx

from .delivery_wire import HOOKSHOT, encode, new_guid, sign
from .state import Delivery, SimState

__all__ = ["HOOKSHOT", "Deliverer", "DeliveryFaults", "new_guid", "sign"]

MAX_PAYLOAD_BYTES = 25 * 1024 * 1024
TOO_LARGE = "payload too large"  # not delivered; kept in the log so tests can see why
DeliveryCallable = Callable[[str, dict[str, str], bytes], tuple[int, dict[str, str], str]]
Listener = Callable[[Delivery], object]


@dataclass
class DeliveryFaults:
    drop_next: int = 0  # the next n deliveries never reach the receiver
    # Only deliveries to this kind of hook are dropped ("integration": the App's webhook,
    # "repository": repository hooks); None: any.
    drop_target: str | None = None
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
        self.max_payload_bytes = MAX_PAYLOAD_BYTES
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="github-sim-delivery")
        self._in_flight = 0
        self._idle = threading.Condition()

    def new_delivery(self, *, guid: str | None = None, **fields: Any) -> Delivery:
        """Build, sign and log a delivery; send it in the background unless deferred.

        `guid` is the event's: every hook that receives one event gets the same
        `X-GitHub-Delivery` (https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers).
        """
        with self.state.lock:
            delivery = Delivery(
                id=self.state.next_id(8_000_000_000),
                guid=guid or new_guid(),
                delivered_at=self.state.clock.now(),  # until sent: when it was queued
                **fields,
            )
            encode(delivery)
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

    def _dispatch(self, delivery: Delivery) -> None:
        if self.deferred:
            self.pending.append(delivery)
            return
        with self._idle:
            self._in_flight += 1
        self._pool.submit(self._send_tracked, delivery)

    def _send_tracked(self, delivery: Delivery) -> None:
        try:
            self._send(delivery)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no delivery is in flight; False if that took longer than `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

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
        if len(delivery.body) > self.max_payload_bytes:
            self._record(delivery, time.monotonic(), 0, {}, None, status=TOO_LARGE)
            return
        if self.faults.latency:
            time.sleep(self.faults.latency)
        started = time.monotonic()
        if self._take_drop(delivery):
            self._record(delivery, started, 0, {}, None, status="failed to connect to host")
            return
        try:
            code, headers, text = self._post(delivery)
        except httpx.HTTPError as exc:
            self._record_failure(delivery, started, exc)
            return
        if time.monotonic() - started > self.faults.timeout:  # the 10 s cover the whole answer
            self._record(delivery, started, 0, {}, None, status="timed out")
            return
        self._record(delivery, started, code, headers, text)

    def _take_drop(self, delivery: Delivery) -> bool:
        target = self.faults.drop_target
        with self._idle:  # workers race for the same counter
            if self.faults.drop_next > 0 and target in (None, delivery.target_type):
                self.faults.drop_next -= 1
                return True
        return False

    def _post(self, delivery: Delivery) -> tuple[int, dict[str, str], str]:
        headers = dict(delivery.request_headers)
        if callable(self.transport) and not isinstance(self.transport, httpx.BaseTransport):
            return self.transport(delivery.url, headers, delivery.body)
        with httpx.Client(transport=self.transport, timeout=self.faults.timeout) as client:
            resp = client.post(delivery.url, content=delivery.body, headers=headers)
        return resp.status_code, dict(resp.headers), resp.text

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
        with self.state.lock:
            self._record_locked(delivery, started, code, headers, text, status)

    def _record_locked(
        self,
        delivery: Delivery,
        started: float,
        code: int,
        headers: dict[str, str],
        text: str | None,
        status: str | None,
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
