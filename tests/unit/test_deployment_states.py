"""The deployment vocabulary is closed: every state has its timestamp column, every pipeline
step is a deployment state, and stored strings compare equal to the enum members."""

from __future__ import annotations

from nanoscale.deployments.models import STATE_ENTERED_AT, Deployment
from nanoscale.deployments.states import (
    ACTIVE_STATES,
    FINAL_STATES,
    RUNNING_STATES,
    DeploymentState,
)
from nanoscale.engine.pipeline import Step


def test_every_state_after_queued_names_the_column_recording_it() -> None:
    assert set(STATE_ENTERED_AT) == set(DeploymentState) - {DeploymentState.QUEUED}
    for state in RUNNING_STATES:
        assert STATE_ENTERED_AT[state].key == f"{state.value}_at"
    for state in FINAL_STATES:
        assert STATE_ENTERED_AT[state] is Deployment.finished_at


def test_every_pipeline_step_is_a_running_state() -> None:
    assert {DeploymentState(step.value) for step in Step} <= set(RUNNING_STATES)


def test_active_and_final_states_partition_the_states() -> None:
    assert set(ACTIVE_STATES) | set(FINAL_STATES) == set(DeploymentState)
    assert set(ACTIVE_STATES) & set(FINAL_STATES) == set()


def test_a_stored_string_equals_its_state() -> None:
    assert DeploymentState.LIVE == "live"
    assert "building" in ACTIVE_STATES
