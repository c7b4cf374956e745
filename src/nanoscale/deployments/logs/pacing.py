"""Followers (build log, release output) poll storage; between polls they yield `IDLE`
instead of sleeping, so the caller decides how to wait. The API waits asynchronously, which
keeps an idle stream from holding a worker thread (threads are only borrowed per poll)."""

from __future__ import annotations

from enum import Enum
from typing import Final, Literal


class _Idle(Enum):
    IDLE = "idle"


IDLE: Final = _Idle.IDLE
# How long a caller waits after an IDLE before polling again.
POLL_SECONDS: Final = 0.25
Idle = Literal[_Idle.IDLE]
