"""First-run setup stays single-admin when two requests race (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from nanoscale.accounts import service
from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.errors import Conflict
from tests.support.api import fast_password_hashing

__all__ = ["fast_password_hashing"]  # a fixture used here
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def test_concurrent_setups_create_exactly_one_admin(
    context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hold each request between "is there a user yet?" and its insert until the other one has
    # checked too (or 1 s passed): without serialization both would see an empty table.
    barrier = threading.Barrier(2, timeout=1.0)
    real_needs_setup = service.needs_setup

    def needs_setup_then_wait(session: Any) -> bool:
        answer = real_needs_setup(session)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return answer

    monkeypatch.setattr(service, "needs_setup", needs_setup_then_wait)
    outcomes: list[str] = []

    def attempt(name: str) -> None:
        try:
            with session_scope(context.sessions) as db:
                service.setup_admin(
                    db, settings=context.settings, username=name, password="long password 1",
                    ip="127.0.0.1",
                )  # fmt: skip
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "created"]
    with context.sessions() as db:
        assert db.scalar(select(func.count()).select_from(User)) == 1
