"""`changed(session, stmt)`: run a conditional UPDATE/DELETE and return how many rows it hit
(the primitive every state transition here relies on)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Executable
from sqlalchemy.orm import Session


def changed(session: Session, stmt: Executable) -> int:
    result = session.execute(stmt, execution_options={"synchronize_session": False})
    return int(cast(CursorResult[Any], result).rowcount)
