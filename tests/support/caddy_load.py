"""A bounded HTTP load loop through Caddy, for zero-downtime tests and the benchmark.

A few client threads send GET requests with a Host header to Caddy's loopback listener until
stopped (or until a hard cap on time and count), recording failures and which release answered.

Two modes:

* `keep_alive=False`: one fresh connection per request. Caddy 2.6 can still reset a
  connection its old config's listener accepted at the instant of a reload (seen in this
  suite on a loaded machine), so the same single, counted resend below applies.
* `keep_alive=True` (what browsers do): every Caddy config change (one per route switch)
  closes the connections the old config's server held, including idle keep-alive ones; a
  request sent on such a connection at that instant gets no response at all. HTTP lets
  clients retry an idempotent request in exactly that case (RFC 9110 section 9.2.2), and
  browsers do, so the loop resends a GET once when the connection closed before any response
  byte and counts it in `retried`. Such a close can hit each client at most once per config
  change (the client then holds a fresh connection), so callers bound `retried` by
  `retry_bound(switches)` and report it; a second failure of the same request is a failure.

A refused connection (nothing listening) or any answer but a release's 200 is a failure.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

MAX_SECONDS = 60.0
MAX_REQUESTS_PER_CLIENT = 50_000


@dataclass
class LoadResult:
    requests: int = 0
    retried: int = 0  # GETs resent once after their connection closed with no response
    failures: list[str] = field(default_factory=list)
    answered_by: Counter[str] = field(default_factory=Counter)


class LoadLoop:
    def __init__(self, port: int, host: str, *, clients: int = 2, keep_alive: bool = True) -> None:
        self._url = f"http://127.0.0.1:{port}/"
        self._host = host
        self._keep_alive = keep_alive
        self._clients = clients
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.result = LoadResult()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> LoadLoop:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> LoadResult:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self.result

    def retry_bound(self, config_changes: int) -> int:
        """The most retries `config_changes` Caddy config loads can honestly cause."""
        return config_changes * self._clients

    def seen(self) -> Counter[str]:
        with self._lock:
            return Counter(self.result.answered_by)

    def _run(self) -> None:
        deadline = time.monotonic() + MAX_SECONDS
        headers = {"Host": self._host}
        if not self._keep_alive:
            headers["Connection"] = "close"
        limits = httpx.Limits(max_keepalive_connections=None if self._keep_alive else 0)
        with httpx.Client(headers=headers, timeout=10.0, limits=limits) as client:
            for _ in range(MAX_REQUESTS_PER_CLIENT):
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                self._one(client)

    def _one(self, client: httpx.Client) -> None:
        retried = False
        try:
            try:
                response = client.get(self._url)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                retried = True
                response = client.get(self._url)
            name = response.text.split(" ")[0]
            ok = response.status_code == 200 and name  # Caddy answers 200 "" with no route
            failure = None if ok else f"HTTP {response.status_code} {response.text[:40]!r}"
        except httpx.TransportError as exc:
            failure, name = f"{type(exc).__name__}: {exc}", ""
        with self._lock:
            self.result.requests += 1
            self.result.retried += retried
            if failure:
                self.result.failures.append(failure)
            else:
                self.result.answered_by[name] += 1
