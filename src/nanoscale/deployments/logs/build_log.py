"""The deployment log: append-only chunks in the database, readable while being written.

`LogWriter` buffers lines and appends a chunk at most every FLUSH_SECONDS (or BUFFER_BYTES),
in its own short transactions, scrubbing the given secrets first; buffered text reaches the
store within FLUSH_SECONDS even when no further output comes. Readers page by chunk id.

Build output arrives in chunks, not lines, so a flush never stores text that ends inside a
possible secret: the end that could begin one stays buffered until more text (or `close()`)
decides. Each deployment's stored log is capped at MAX_LOG_CHARS: past it the oldest chunks
are dropped and the first one kept starts with a note saying how much was left out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from nanoscale.db.engine import session_scope
from nanoscale.deployments.logs.pacing import IDLE, Idle
from nanoscale.deployments.models import Deployment, DeploymentLogChunk
from nanoscale.deployments.states import FINAL_STATES
from nanoscale.engine.git import scrub
from nanoscale.errors import NanoScaleError
from nanoscale.logs import get_logger

FLUSH_SECONDS = 0.25
BUFFER_BYTES = 16_384
# A module constant until settings carry it: about 2 MB of text per deployment.
MAX_LOG_CHARS = 2_000_000
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
        self._stored: list[tuple[int, int]] = []  # (chunk id, length) of what is kept
        self._stored_chars = 0
        self._dropped_chars = 0
        self._note: tuple[int, int] | None = None  # (chunk id, note length) of the cut note
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
        with self._cond:
            self._flush_locked(final=True)

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
        """Store what is buffered now (best effort, like the flusher: the caller goes on)."""
        with self._cond:
            self._flush_or_keep_locked()

    def _flush_or_keep_locked(self) -> None:
        try:
            self._flush_locked()
        except Exception:  # the database may be busy; the text stays buffered for the next try
            log.exception("deploy.log_flush_failed", deployment_id=self._deployment_id)

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
                self._flush_or_keep_locked()

    def _flush_locked(self, *, final: bool = False) -> None:
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        raw = "".join(self._buffer)
        split = len(raw) if final else safe_split(raw, self._secrets)
        if split == 0:
            return
        text = scrub(raw[:split], self._secrets)
        with session_scope(self._sessions) as session:
            chunk = DeploymentLogChunk(deployment_id=self._deployment_id, text=text)
            session.add(chunk)
            session.flush()
            self._stored.append((chunk.id, len(text)))
            self._stored_chars += len(text)
            if self._stored_chars > MAX_LOG_CHARS:
                self._drop_oldest(session)
        self._buffer = [raw[split:]] if split < len(raw) else []
        self._size = len(raw) - split

    def _drop_oldest(self, session: Session) -> None:
        """Keep the newest chunks within MAX_LOG_CHARS; note the cut in the first one kept."""
        while self._stored_chars > MAX_LOG_CHARS and len(self._stored) > 1:
            chunk_id, length = self._stored.pop(0)
            session.execute(delete(DeploymentLogChunk).where(DeploymentLogChunk.id == chunk_id))
            self._stored_chars -= length
            self._dropped_chars += length
        first_id, _ = self._stored[0]
        first = session.get_one(DeploymentLogChunk, first_id)
        noted = self._note[1] if self._note and self._note[0] == first_id else 0
        body = first.text[noted:]
        note = (
            f"[nanoscale] log truncated: the first {self._dropped_chars} characters were "
            f"dropped (at most {MAX_LOG_CHARS} are kept)\n"
        )
        self._note = (first_id, len(note))
        session.execute(
            update(DeploymentLogChunk)
            .where(DeploymentLogChunk.id == first_id)
            .values(text=note + body)
        )


def safe_split(text: str, secrets: Sequence[str]) -> int:
    """How much of `text` may be scrubbed and stored now: not past the start of a secret
    that might continue in text still to come, nor through the middle of a whole one."""
    longest = max((len(s) for s in secrets if s), default=0)
    if longest <= 1 or text.endswith("\n"):
        return len(text)
    split = len(text) - (longest - 1)  # a secret starting after this may be incomplete
    for secret in (s for s in secrets if s):
        for start in range(max(0, split - len(secret) + 1), split):
            if text.startswith(secret, start):
                split = min(split, start)
    return max(0, split)


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
    sessions: sessionmaker[Session], deployment_id: str, *, after_id: int = 0
) -> Iterator[tuple[int, str] | tuple[None, str] | Idle]:
    """Yield (chunk id, text) as chunks arrive, then (None, final state) once the deployment
    has finished and every chunk was sent; `IDLE` when a poll found nothing new."""
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
            yield IDLE
