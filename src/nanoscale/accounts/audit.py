"""The audit log: who did what to which object, from where. Never pass secrets in `details`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from nanoscale.accounts.models import AuditEvent, User


def record(
    session: Session,
    *,
    action: str,
    actor: User | None,
    ip: str | None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Add an event to the current transaction (the caller commits).

    `actor_label` defaults to the actor's username, or "anonymous" without an actor.
    """
    event = AuditEvent(
        actor_user_id=actor.id if actor else None,
        actor_label=(actor_label or (actor.username if actor else "anonymous"))[:64],
        action=action,
        target=target[:255] if target else None,
        ip=ip[:64] if ip else None,
        details=details or None,
    )
    session.add(event)
    return event
