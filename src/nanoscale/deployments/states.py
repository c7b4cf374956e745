"""The deployment vocabulary: its states, what triggered it, and which states count as what.

    queued ──> fetching ──> building ──> starting ──> live
       │            └───────────┴────────────┴──────> failed | cancelled
       └──> superseded | cancelled

Values are stored as their strings; comparing a `DeploymentState` with a stored string works.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class DeploymentState(StrEnum):
    QUEUED = "queued"
    FETCHING = "fetching"
    BUILDING = "building"
    STARTING = "starting"
    LIVE = "live"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"


class Trigger(StrEnum):
    CREATE = "create"
    MANUAL = "manual"
    PUSH = "push"
    ROLLBACK = "rollback"


RUNNING_STATES: Final = (
    DeploymentState.FETCHING,
    DeploymentState.BUILDING,
    DeploymentState.STARTING,
)
ACTIVE_STATES: Final = (DeploymentState.QUEUED, *RUNNING_STATES)
FINAL_STATES: Final = (
    DeploymentState.LIVE,
    DeploymentState.FAILED,
    DeploymentState.CANCELLED,
    DeploymentState.SUPERSEDED,
)
# A push for a commit whose deployments all ended like this may deploy it again.
RETRYABLE_STATES: Final = (DeploymentState.FAILED, DeploymentState.CANCELLED)
