"""Alembic environment: uses a connection handed over in `config.attributes` when present."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from nanoscale.db.engine import make_engine
from nanoscale.models import load_metadata

config = context.config
target_metadata = load_metadata()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite needs batch mode for ALTERs
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
