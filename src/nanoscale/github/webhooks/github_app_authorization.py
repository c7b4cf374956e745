"""`github_app_authorization` revoked: the user withdrew NanoScale on GitHub; their link (and
its tokens) goes, as on disconnect. Deployed projects keep serving."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nanoscale.accounts import audit
from nanoscale.context import AppContext
from nanoscale.github import models as m
from nanoscale.github.webhooks.deliveries import Outcome


def handle(
    db: Session, *, ctx: AppContext, payload: dict[str, Any], delivery_id: str, hook_id: int
) -> Outcome:
    sender = payload.get("sender") or {}
    github_id = sender.get("id")
    if payload.get("action") != "revoked" or not isinstance(github_id, int):
        return Outcome(200, "ignored", "not a revocation")
    link = db.scalar(select(m.GitHubUserLink).where(m.GitHubUserLink.github_user_id == github_id))
    if link is None:
        return Outcome(200, "ignored", "no NanoScale user is linked to that GitHub account")
    user_id = link.local_user_id
    for model in (m.GitHubInstallationAccess, m.GitHubRepositoryAccess, m.GitHubRepoSync):
        db.execute(delete(model).where(model.local_user_id == user_id))
    db.delete(link)
    audit.record(db, action="github.disconnected", actor=None, ip=None,
                 target=f"github:{sender.get('login')}",
                 details={"user_id": user_id, "reason": "revoked on GitHub"},
                 actor_label="github")  # fmt: skip
    return Outcome(200, "updated", "authorization revoked: the link was removed")
