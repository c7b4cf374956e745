"""The deployment log: append-only chunks in the database, readable while being written.

`LogWriter` buffers lines and appends a chunk at most every FLUSH_SECONDS (or BUFFER_BYTES),
in its own short transactions, scrubbing the given secrets first. Readers page by chunk id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nanoscale.db.engine import session_scope
from nanoscale.deployments.models import FINAL_STATES, Deployment, DeploymentLogChunk
from nanoscale.engine.git import scrub
from nanoscale.errors import NanoScaleError

FLUSH_SECONDS = 0.25
BUFFER_BYTES = 16_384


class LogWriter:
    def __init__(
        self, sessions: sessionmaker[Session], deployment_id: str, *, secrets: Sequence[str] = ()
    ) -> None:
        self._sessions = sessions
        self._deployment_id = deployment_id
        self._secrets = list(secrets)
        self._buffer: list[str] = []
        self._size = 0
        self._last_flush = 0.0
        self._lock = threading.Lock()

    def add_secrets(self, secrets: Sequence[str]) -> None:
        self._secrets.extend(s for s in secrets if s)

    def scrub_error(self, exc: Exception) -> Exception:
        """The same masking for an error message (it may quote the log tail)."""
        if isinstance(exc, NanoScaleError):
            exc.message = scrub(exc.message, self._secrets)
        return exc

    def write(self, text: str) -> None:
        with self._lock:
            self._buffer.append(text)
            self._size += len(text)
            due = time.monotonic() - self._last_flush >= FLUSH_SECONDS
            if due or self._size >= BUFFER_BYTES:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        text = scrub("".join(self._buffer), self._secrets)
        self._buffer.clear()
        self._size = 0
        with session_scope(self._sessions) as session:
            session.add(DeploymentLogChunk(deployment_id=self._deployment_id, text=text))


def read_log(
    session: Session, deployment_id: str, *, after_id: int = 0
) -> list[DeploymentLogChunk]:
    return list(
        session.scalars(
            select(DeploymentLogChunk)
            .where(
                DeploymentLogChunk.deployment_id == deployment_id, DeploymentLogChunk.id > after_id
            )
            .order_by(DeploymentLogChunk.id)
        )
    )


def log_text(session: Session, deployment_id: str) -> str:
    return "".join(chunk.text for chunk in read_log(session, deployment_id))


def follow_log(
    sessions: sessionmaker[Session], deployment_id: str, *, after_id: int = 0, poll: float = 0.25
) -> Iterator[tuple[int, str] | tuple[None, str]]:
    """Yield (chunk id, text) as chunks arrive, then (None, final state) once the deployment
    has finished and every chunk was sent."""
    while True:
        with session_scope(sessions) as session:
            state = session.scalar(select(Deployment.state).where(Deployment.id == deployment_id))
            chunks = [(c.id, c.text) for c in read_log(session, deployment_id, after_id=after_id)]
        for chunk_id, text in chunks:
            after_id = chunk_id
            yield chunk_id, text
        if state is None or (state in FINAL_STATES and not chunks):
            yield None, state or "deleted"
            return
        if not chunks:
            time.sleep(poll)
