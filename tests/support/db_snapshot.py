"""The whole database as comparable data, minus bookkeeping that legitimately moves on a
refused request: "nothing changed" is checked by comparing two snapshots."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from nanoscale.context import AppContext
from nanoscale.models import load_metadata

# Failed logins are counted (throttling) and audited, and "last used" stamps move.
VOLATILE_TABLES = {"login_failures"}
VOLATILE_COLUMNS = {("auth_sessions", "last_seen_at"), ("api_tokens", "last_used_at")}
# Failed credential checks are recorded on purpose (throttling, audit), even when refused.
VOLATILE_AUDIT_ACTIONS = {"auth.login.failed", "password.change_failed"}


def snapshot(context: AppContext) -> dict[str, list[tuple[Any, ...]]]:
    state: dict[str, list[tuple[Any, ...]]] = {}
    with context.engine.connect() as conn:
        for table in load_metadata().sorted_tables:
            if table.name in VOLATILE_TABLES:
                continue
            cols = [c for c in table.columns if (table.name, c.name) not in VOLATILE_COLUMNS]
            rows = conn.execute(select(*cols)).all()
            if table.name == "audit_events":
                rows = [r for r in rows if r._mapping["action"] not in VOLATILE_AUDIT_ACTIONS]
            state[table.name] = sorted((tuple(map(repr, r)) for r in rows), key=repr)
    return state
