"""Which module handles which event: one explicit dict. Events without a handler are recorded
and answered 200 "ignored"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.github.webhooks import (
    github_app_authorization,
    installation,
    installation_repositories,
    push,
    repository,
)
from nanoscale.github.webhooks.deliveries import Outcome

Handler = Callable[..., Outcome]


def _ping(
    db: Session, *, ctx: AppContext, payload: dict[str, Any], delivery_id: str, hook_id: int
) -> Outcome:
    return Outcome(200, "pong")


HANDLERS: dict[str, Handler] = {
    "push": push.handle,
    "ping": _ping,
    "repository": repository.handle,
    "installation": installation.handle,
    "installation_repositories": installation_repositories.handle,
    "github_app_authorization": github_app_authorization.handle,
}
