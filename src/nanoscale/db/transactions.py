"""The transaction rule, stated once.

A service works inside its caller's unit of work: one session per request (or CLI command,
or worker step), committed by the caller when it returns and rolled back if it raises.
A service ends that unit early in exactly two cases, always through a helper below and
never with a bare `session.commit()`:

1. Before waiting on anything outside this transaction: a network call, another thread or
   process (the worker finishing a cancelled build), a response stream that outlives the
   handler, a check that opens its own connection. On SQLite every transaction holds the
   database's write lock from its first statement (`BEGIN IMMEDIATE`, see `db.engine`), so
   waiting inside one stalls every other writer, the workers' lease heartbeats included,
   and a check on a second connection would wait for this one. Use `outside_transaction`
   around the wait, or `end_transaction` when the wait happens after the handler returns.
   The caller's pending work is committed at that point, so it must already be whole.
2. A record that must outlive the request's failure (a failed login counted by the
   throttle, its audit event): `commit_before_raising`, then raise.

Multi-step flows (the GitHub connect and sync paths) follow the same rule: write, leave the
transaction, call out, then write again in a new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


def end_transaction(session: Session) -> None:
    """Commit the caller's work now; nothing of this session is held while what follows
    (a stream, a wait) runs. The session opens a new transaction on its next use."""
    session.commit()


@contextmanager
def outside_transaction(session: Session) -> Iterator[None]:
    """Run the body with no transaction of `session` open (rule 1). The body must not use
    `session`; doing so would take the write lock again, so it is refused."""
    end_transaction(session)
    yield
    if session.in_transaction():
        raise RuntimeError("the session was used inside outside_transaction()")


def commit_before_raising(session: Session) -> None:
    """Keep what was recorded so far although the caller is about to raise (rule 2)."""
    session.commit()
