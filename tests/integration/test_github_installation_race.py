"""Two writers record the same new installation at once (the setup callback and the
`installation` webhook GitHub sends at the same moment): neither fails, one row results.

On PostgreSQL the second INSERT waits for the first transaction and then meets the unique
index; on SQLite writers are serialised, so the race resolves before the INSERT."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.github import models as m
from nanoscale.github.installations import upsert_installation


def _installation(login: str) -> dict[str, Any]:
    return {
        "id": 77001,
        "account": {"login": login, "id": 9, "type": "User"},
        "target_type": "User",
        "repository_selection": "all",
        "permissions": {"contents": "read", "metadata": "read"},
    }


def test_a_concurrent_second_insert_updates_the_winners_row(context: AppContext) -> None:
    failures: list[BaseException] = []
    first_inserted = threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with session_scope(context.sessions) as db:
            upsert_installation(db, _installation("first"))
            db.flush()
            first_inserted.set()
            release_first.wait(timeout=30)

    def second() -> None:
        try:
            with session_scope(context.sessions) as db:
                upsert_installation(db, _installation("second"))
        except BaseException as exc:  # reported below, not swallowed
            failures.append(exc)

    a = threading.Thread(target=first)
    a.start()
    assert first_inserted.wait(timeout=30)
    b = threading.Thread(target=second)
    b.start()
    b.join(timeout=2)  # PostgreSQL: still waiting on the first writer; SQLite: waiting for the lock
    release_first.set()
    a.join(timeout=30)
    b.join(timeout=30)
    assert not failures, failures
    with session_scope(context.sessions) as db:
        count = db.scalar(select(func.count()).where(m.GitHubInstallation.installation_id == 77001))
        login = db.scalar(
            select(m.GitHubInstallation.account_login).where(
                m.GitHubInstallation.installation_id == 77001
            )
        )
    assert count == 1
    assert login == "second"  # the later writer's view is kept, not dropped
