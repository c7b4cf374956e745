"""FastAPI dependencies shared by the JSON routes and the dashboard."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from nanoscale.context import AppContext


def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.context
    return ctx


def get_db(request: Request) -> Iterator[Session]:
    """A session per request; commits when the handler returns without error."""
    ctx = get_context(request)
    session = ctx.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
