"""Primary and secondary rate limits, and route faults (latency, 5xx, hangs) tests switch on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .state import Installation, SimClock, SimState

DEFAULT_LIMITS = {"anonymous": 60, "app": 5000, "installation": 5000, "user": 5000}
RATE_DOC = "/overview/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {rid}."
)


@dataclass
class Window:
    limit: int
    reset: datetime
    used: int = 0


@dataclass
class RateLimits:
    clock: SimClock
    limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    windows: dict[str, Window] = field(default_factory=dict)
    # A spent primary limit: "you will receive a 403 or 429 response" (rate-limits-for-the-rest-api)
    status: int = 403
    secondary_per_minute: int | None = None  # cap on mutating requests per credential
    secondary_next: int = 0  # force the next n requests into a secondary limit
    retry_after: int = 60
    _mutations: dict[str, list[datetime]] = field(default_factory=dict)

    overridden: set[str] = field(default_factory=set)

    def set_limit(self, kind: str, limit: int) -> None:
        """Lower (or raise) the hourly budget for a credential kind and reset open windows."""
        self.limits[kind] = limit
        self.overridden.add(kind)
        self.windows = {k: w for k, w in self.windows.items() if not k.startswith(kind)}

    def window(self, kind: str, key: str, scaled: int | None = None) -> Window:
        """`scaled`: the credential's own limit (an installation's grows with its size)
        unless a test set one for the whole kind."""
        now = self.clock.now()
        limit = self.limits.get(kind, 5000)
        if scaled is not None and kind not in self.overridden:
            limit = scaled
        window = self.windows.get(key)
        if window is None or window.reset <= now:
            window = Window(limit, now + timedelta(hours=1))
            self.windows[key] = window
        window.limit = limit
        return window

    def consume(self, kind: str, key: str, scaled: int | None = None) -> tuple[Window, bool]:
        """Count one request; False when the budget was already spent."""
        window = self.window(kind, key, scaled)
        if window.used >= window.limit:
            return window, False
        window.used += 1
        return window, True

    def secondary_hit(self, key: str, method: str) -> bool:
        if self.secondary_next > 0:
            self.secondary_next -= 1
            return True
        if self.secondary_per_minute is None or method in ("GET", "HEAD"):
            return False
        now = self.clock.now()
        recent = [t for t in self._mutations.get(key, []) if t > now - timedelta(minutes=1)]
        recent.append(now)
        self._mutations[key] = recent
        return len(recent) > self.secondary_per_minute

    @staticmethod
    def headers(window: Window) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(max(window.limit - window.used, 0)),
            "X-RateLimit-Reset": str(int(window.reset.timestamp())),
            "X-RateLimit-Used": str(window.used),
            "X-RateLimit-Resource": "core",
        }


def installation_limit(state: SimState, inst: Installation) -> int:
    """https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#primary-rate-limit-for-github-app-installations:
    5,000 an hour; over 20 repositories, 50 more per repository; on an organization with over
    20 users, 50 more per user; never above 12,500. (Enterprise Cloud's 15,000 is not modelled.)"""
    repos = len(state.installation_repos(inst))
    users = len(inst.account.members) if inst.account.type == "Organization" else 1
    limit = 5000 + (50 * repos if repos > 20 else 0) + (50 * users if users > 20 else 0)
    return min(limit, 12_500)


@dataclass
class Fault:
    method: str  # "*" for any
    path: re.Pattern[str]
    status: int | None = None  # answer with this (5xx) instead of the real response
    latency: float = 0.0  # seconds added before answering
    hang: float = 0.0  # hold the request this long (a client with a shorter timeout gives up)
    remaining: int | None = None  # None: until cleared
    rate_limited: bool = False  # answer as if the caller's primary rate limit were spent

    def matches(self, method: str, path: str) -> bool:
        if self.remaining == 0:
            return False
        return self.method in ("*", method) and bool(self.path.search(path))


@dataclass
class Faults:
    rules: list[Fault] = field(default_factory=list)

    def add(
        self,
        path: str,
        *,
        method: str = "*",
        status: int | None = None,
        latency: float = 0.0,
        hang: float = 0.0,
        times: int | None = None,
        rate_limited: bool = False,
    ) -> Fault:
        """path is a regex searched in the request path (e.g. r"/access_tokens$")."""
        fault = Fault(method, re.compile(path), status, latency, hang, times, rate_limited)
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        self.rules.clear()

    def take(self, method: str, path: str) -> list[Fault]:
        hits = [f for f in self.rules if f.matches(method, path)]
        for fault in hits:
            if fault.remaining is not None:
                fault.remaining -= 1
        return hits
