"""Delivery records: one per (GUID, hook). A record that was handled makes a redelivery a
no-op; one whose processing failed is processed again. Concurrency is settled by the unique
index, not by memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nanoscale.db.base import utcnow
from nanoscale.github import models as m


@dataclass
class Outcome:
    status: int
    outcome: str  # deployed | duplicate | ignored | pong
    reason: str | None = None
    deployment_ids: list[str] = field(default_factory=list)
    duplicate_of: str | None = None  # outcome duplicate: the GUID of the original delivery

    def body(self, delivery_id: str) -> dict[str, Any]:
        return {"delivery_id": delivery_id, "outcome": self.outcome, "reason": self.reason,
                "deployment_ids": self.deployment_ids,
                "duplicate_of": self.duplicate_of}  # fmt: skip


def claim(db: Session, *, fields: dict[str, Any]) -> m.GitHubWebhookDelivery | None:
    """The record to process, or None when this (GUID, hook) was already handled."""
    key = (fields["delivery_id"], fields["hook_id"])
    try:
        with db.begin_nested():
            row = m.GitHubWebhookDelivery(**fields)
            db.add(row)
        return row
    except IntegrityError:
        existing = db.scalar(
            select(m.GitHubWebhookDelivery).where(
                m.GitHubWebhookDelivery.delivery_id == key[0],
                m.GitHubWebhookDelivery.hook_id == key[1],
            )
        )
        if existing is None or existing.handled:
            return None
        return existing  # a failed earlier attempt: process again


def redelivered(db: Session, *, fields: dict[str, Any]) -> Outcome:
    """GitHub's Redeliver of a handled delivery: a no-op naming the original (same GUID) and
    the deployments it requested; the record counts it."""
    key = (m.GitHubWebhookDelivery.delivery_id == fields["delivery_id"],
           m.GitHubWebhookDelivery.hook_id == fields["hook_id"])  # fmt: skip
    db.execute(
        update(m.GitHubWebhookDelivery)
        .where(*key)
        .values(redeliveries=m.GitHubWebhookDelivery.redeliveries + 1, last_redelivered_at=utcnow())
    )
    ids = db.scalar(select(m.GitHubWebhookDelivery.deployment_ids).where(*key))
    return Outcome(200, "duplicate", "this delivery was already handled", list(ids or []),
                   duplicate_of=fields["delivery_id"])  # fmt: skip


def finish(row: m.GitHubWebhookDelivery, outcome: Outcome) -> None:
    row.handled = True
    row.outcome = outcome.outcome
    row.reason = outcome.reason
    row.deployment_ids = list(outcome.deployment_ids)
    row.duplicate_of = outcome.duplicate_of
    row.status_code = outcome.status
    row.error_message = None
