"""Presentation of service records: deployment rows and step timelines.

Pure functions over what the services return; they decide how things look, never what
happens. Deployment steps come from the per-step timestamps the engine writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nanoscale.deployments.models import Deployment
from nanoscale.deployments.states import ACTIVE_STATES, DeploymentState


@dataclass(frozen=True)
class DeploymentRow:
    id: str
    project_id: str
    project_name: str
    commit_sha: str | None
    commit_message: str | None
    commit_author: str | None
    trigger: str
    state: str
    created_at: datetime
    finished_at: datetime | None
    error_message: str | None
    retired: bool  # went live, and a later release has since replaced it
    pusher: str | None = None  # a GitHub push: who pushed (from the delivery)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def shown_state(self) -> str:
        return "replaced" if self.retired else self.state


def deployment_row(deployment: Deployment, project_name: str = "") -> DeploymentRow:
    return DeploymentRow(
        id=deployment.id,
        project_id=deployment.project_id,
        project_name=project_name,
        commit_sha=deployment.commit_sha,
        commit_message=deployment.commit_message,  # from git after fetch, never from input
        commit_author=deployment.commit_author,
        trigger=deployment.trigger,
        state=deployment.state,
        created_at=deployment.queued_at,
        finished_at=deployment.finished_at,
        error_message=deployment.error_message,
        retired=deployment.state == DeploymentState.LIVE
        and deployment.release_stopped_at is not None,
        pusher=str((deployment.correlation or {}).get("pusher") or "") or None,
    )


@dataclass(frozen=True)
class Step:
    name: str
    state: str  # pending, running, done, failed, cancelled, skipped
    duration: str


_STEPS: tuple[tuple[str, str], ...] = (
    ("queue", "queued_at"),
    ("fetch", "fetching_at"),
    ("build", "building_at"),
    ("start", "starting_at"),
)


def deployment_steps(deployment: Deployment) -> list[Step]:
    """queue → fetch → build → start (start includes the health check and proxy switch)."""
    marks: list[datetime | None] = [getattr(deployment, attr) for _, attr in _STEPS]
    ends = [*marks[1:], deployment.finished_at]
    begun = [i for i, mark in enumerate(marks) if mark is not None]
    last = begun[-1] if begun else -1
    if last >= 0 and ends[last] is None:
        ends[last] = deployment.finished_at  # the deployment ended during this step
    steps = []
    for i, (name, _attr) in enumerate(_STEPS):
        state = _step_state(deployment.state, i, last, ends[i] is not None)
        steps.append(Step(name=name, state=state, duration=_duration(marks[i], ends[i])))
    return steps


# How the step a deployment ended in is shown, by the state it ended in.
_LAST_STEP_OF_ENDED: dict[str, str] = {
    DeploymentState.LIVE: "done",
    DeploymentState.FAILED: "failed",
    DeploymentState.CANCELLED: "cancelled",
}


def _step_state(deployment_state: str, index: int, last: int, ended: bool) -> str:
    if index > last:
        return "pending" if deployment_state in ACTIVE_STATES else "skipped"
    if index < last or (ended and deployment_state == DeploymentState.LIVE):
        return "done"
    if deployment_state in ACTIVE_STATES:
        return "running"
    return _LAST_STEP_OF_ENDED.get(deployment_state, "skipped")


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    seconds = max((end - start).total_seconds(), 0.0)
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m {int(seconds % 60)}s"
