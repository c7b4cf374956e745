"""The deployment log: append-only chunks in the database, readable while being written.

`LogWriter` buffers lines and appends a chunk at most every FLUSH_SECONDS (or BUFFER_BYTES),
in its own short transactions, scrubbing the given secrets first; buffered text reaches the
store within FLUSH_SECONDS even when no further output comes. Readers page by chunk id.
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
from nanoscale.logs import get_logger

FLUSH_SECONDS = 0.25
BUFFER_BYTES = 16_384
log = get_logger("nanoscale.deployments")


class LogWriter:
    """Buffered, scrubbed appends to one deployment's log.

    A write flushes when the last flush is FLUSH_SECONDS old or the buffer is full; otherwise
    a flusher thread writes the buffer once it has waited FLUSH_SECONDS, so a line followed by
    silence (a build that prints and then works quietly) still reaches readers in bounded
    time, and the database sees at most one chunk per FLUSH_SECONDS. Use it as a context
    manager (or `start()`/`close()`); `close()` flushes what is left.
    """

    def __init__(
        self, sessions: sessionmaker[Session], deployment_id: str, *, secrets: Sequence[str] = ()
    ) -> None:
        self._sessions = sessions
        self._deployment_id = deployment_id
        self._secrets = list(secrets)
        self._buffer: list[str] = []
        self._size = 0
        self._last_flush = 0.0
        self._cond = threading.Condition()
        self._closed = False
        self._flusher = threading.Thread(target=self._flush_when_due, name="ns-log", daemon=True)

    def __enter__(self) -> LogWriter:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._flusher.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._flusher.is_alive():
            self._flusher.join()
        self.flush()

    def add_secrets(self, secrets: Sequence[str]) -> None:
        self._secrets.extend(s for s in secrets if s)

    def scrub_error(self, exc: Exception) -> Exception:
        """The same masking for an error message (it may quote the log tail)."""
        if isinstance(exc, NanoScaleError):
            exc.message = scrub(exc.message, self._secrets)
        return exc

    def write(self, text: str) -> None:
        with self._cond:
            self._buffer.append(text)
            self._size += len(text)
            due = time.monotonic() - self._last_flush >= FLUSH_SECONDS
            if due or self._size >= BUFFER_BYTES:
                self._flush_locked()
            else:
                self._cond.notify_all()  # the flusher picks it up when it is due

    def flush(self) -> None:
        with self._cond:
            self._flush_locked()

    def _flush_when_due(self) -> None:
        with self._cond:
            while not self._closed:
                if not self._buffer:
                    self._cond.wait()
                    continue
                wait = self._last_flush + FLUSH_SECONDS - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                try:
                    self._flush_locked()
                except Exception:  # the database may be busy; the text stays buffered
                    log.exception("deploy.log_flush_failed", deployment_id=self._deployment_id)

    def _flush_locked(self) -> None:
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        text = scrub("".join(self._buffer), self._secrets)
        with session_scope(self._sessions) as session:
            session.add(DeploymentLogChunk(deployment_id=self._deployment_id, text=text))
        self._buffer.clear()
        self._size = 0


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
