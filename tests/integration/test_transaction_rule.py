"""The transaction rule (`nanoscale.db.transactions`): a wait happens with no transaction of
the caller open, so on SQLite (write lock from BEGIN) other writers get in meanwhile; and no
module ends a transaction except through the named helpers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

import nanoscale
from nanoscale.db.engine import make_engine, make_session_factory
from nanoscale.db.transactions import outside_transaction

SRC = Path(nanoscale.__file__).parent


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'rule.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (body TEXT)"))
    yield make_session_factory(engine)
    engine.dispose()


def test_another_writer_gets_in_while_the_caller_waits(
    sessions: sessionmaker[Session],
) -> None:
    caller = sessions()
    caller.execute(text("INSERT INTO notes VALUES ('caller')"))
    # With the caller's transaction left open (the old pattern) this write would wait for
    # the caller's lock and fail with "database is locked".
    with outside_transaction(caller), sessions.begin() as other:
        other.execute(text("INSERT INTO notes VALUES ('other')"))
        seen = set(other.scalars(text("SELECT body FROM notes")))
    caller.close()
    assert seen == {"caller", "other"}  # the caller's work was committed before the wait


def test_using_the_session_inside_the_wait_is_refused(sessions: sessionmaker[Session]) -> None:
    caller = sessions()
    with pytest.raises(RuntimeError), outside_transaction(caller):
        caller.execute(text("SELECT 1"))
    caller.close()


def test_only_the_named_helpers_commit_a_callers_session() -> None:
    allowed = {SRC / "db" / "transactions.py", SRC / "db" / "engine.py"}
    offenders = []
    for path in SRC.rglob("*.py"):
        if path in allowed or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "commit"
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []
