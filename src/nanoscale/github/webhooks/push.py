"""`push`: deploy the pushed commit of every active project linked to that repository (by its
numeric id) and branch. Tags, deleted branches and other branches do not deploy. The deploy
intent is keyed on (project, branch, after) by the deployments service, so the App's and the
repository hook's copies of one push, a redelivery, or a replayed body deploy once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nanoscale.context import AppContext
from nanoscale.deployments.service import request_deployment
from nanoscale.deployments.states import Trigger
from nanoscale.github import models as m
from nanoscale.github.webhooks.deliveries import Outcome
from nanoscale.projects.models import Project

ZERO_SHA = "0" * 40
BRANCH_PREFIX = "refs/heads/"


def handle(  # noqa: PLR0911 - one reason per return
    db: Session, *, ctx: AppContext, payload: dict[str, Any], delivery_id: str, hook_id: int
) -> Outcome:
    repo = payload.get("repository") or {}
    ref, after = str(payload.get("ref") or ""), str(payload.get("after") or "")
    # Reasons are short: the Deliveries view puts "push to `<branch>`: " in front of them.
    if not ref.startswith(BRANCH_PREFIX):
        tag = ref.startswith("refs/tags/")
        return Outcome(200, "ignored", "tags do not deploy" if tag else "not a branch")
    if payload.get("deleted") or after == ZERO_SHA:
        return Outcome(200, "ignored", "branch deleted")
    if len(after) != 40 or not isinstance(repo.get("id"), int):
        return Outcome(400, "ignored", "push without repository id or after SHA")
    branch = ref.removeprefix(BRANCH_PREFIX)
    links = db.scalars(select(m.ProjectGitHubLink).where(m.ProjectGitHubLink.repo_id == repo["id"]))
    links_all = list(links)
    if not links_all:
        return Outcome(200, "ignored", "no linked project")
    selected = [link for link in links_all if link.selected_branch == branch]
    if not selected:
        return Outcome(200, "ignored", "not the selected branch")
    if repo.get("archived"):
        return Outcome(200, "ignored", "repository archived")
    active = [link for link in selected if link.active]
    if not active:
        return Outcome(200, "ignored", "link inactive (GitHub disconnected or access lost)")
    ids, fresh, original = [], False, None
    for link in active:
        project = db.get(Project, link.project_id)
        if project is None:
            continue
        deployment = request_deployment(
            db, project=project, commit_sha=after, ref=branch, trigger=Trigger.PUSH,
            correlation=_correlation(payload, delivery_id, hook_id),
        )  # fmt: skip
        ids.append(deployment.id)
        made_here = (deployment.correlation.get("delivery_id"),
                     deployment.correlation.get("hook_id")) == (delivery_id, hook_id)  # fmt: skip
        fresh = fresh or made_here
        original = original or deployment.correlation.get("delivery_id")
    if not fresh:  # name the delivery that did request it (None: requested otherwise)
        return Outcome(200, "duplicate", "this push was already requested", ids,
                       duplicate_of=str(original)[:64] if original else None)  # fmt: skip
    return Outcome(202, "deployed", None, ids)


def _correlation(payload: dict[str, Any], delivery_id: str, hook_id: int) -> dict[str, Any]:
    head = payload.get("head_commit") or {}
    pusher = payload.get("pusher") or {}
    return {
        "delivery_id": delivery_id,
        "hook_id": hook_id,
        "pusher": str(pusher.get("name") or "")[:100],
        "before": str(payload.get("before") or "")[:40],
        "after": str(payload.get("after") or "")[:40],
        "head_commit_message": str(head.get("message") or "").split("\n", 1)[0][:200],
    }
