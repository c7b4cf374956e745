from __future__ import annotations

from sqlalchemy import text

from nanoscale.context import AppContext
from nanoscale.db.migrate import drift


def test_migrations_apply_to_an_empty_database_without_drift(context: AppContext) -> None:
    assert drift(context.engine) == []


def test_sqlite_runs_with_wal_and_foreign_keys(make_settings, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    from nanoscale.context import build_context

    ctx = build_context(make_settings(database_url=sqlite_url))
    with ctx.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    ctx.close()
