"""Failed-signature floods are answered 429 per source address instead of 401, and logged once
per window rather than once per forged request. A delivery whose signature is good is never
refused (GitHub does not retry, so a refused push would be lost)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

WINDOW_SECONDS = 60.0
MAX_FAILURES = 30


class SignatureThrottle:
    def __init__(self, *, window: float = WINDOW_SECONDS, limit: int = MAX_FAILURES) -> None:
        self.window, self.limit = window, limit
        self._failures: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()

    def _recent(self, source: str, now: float) -> list[float]:
        kept = [t for t in self._failures[source] if now - t < self.window]
        self._failures[source] = kept
        return kept

    def blocked(self, source: str) -> bool:
        with self._lock:
            return len(self._recent(source, time.monotonic())) >= self.limit

    def failed(self, source: str) -> bool:
        """Count a failure; True when this is the first of a window (worth logging)."""
        with self._lock:
            recent = self._recent(source, time.monotonic())
            recent.append(time.monotonic())
            return len(recent) == 1
