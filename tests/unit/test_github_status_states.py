"""How NanoScale deployment states become GitHub deployment and commit statuses, and which
installation permissions choose the mode."""

from __future__ import annotations

import pytest

from nanoscale.github.status_reports.modes import reporting_for
from nanoscale.github.status_reports.states import (
    Observed,
    deployment_steps,
    is_final,
    settled,
    status_steps,
)


def seen(state: str, *, ran: bool = True, retired: bool = False) -> Observed:
    return Observed(state=state, ran=ran, retired=retired)


@pytest.mark.parametrize(
    ("observed", "reported", "steps"),
    [
        (seen("queued", ran=False), None, ["queued"]),
        (seen("building"), "queued", ["in_progress"]),
        (seen("live"), None, ["queued", "in_progress", "success"]),  # seen only once done
        (seen("live"), "in_progress", ["success"]),
        (seen("live"), "success", []),
        (seen("live", retired=True), "success", ["inactive"]),
        (seen("failed"), "queued", ["in_progress", "failure"]),
        (seen("failed", ran=False), None, ["queued", "failure"]),
        (seen("superseded", ran=False), "queued", ["inactive"]),
        (seen("superseded", ran=False), None, []),  # coalesced before GitHub heard of it
        (seen("cancelled", ran=False), None, []),
        (seen("cancelled"), "in_progress", ["inactive"]),
    ],
)
def test_deployment_statuses_follow_the_path_not_yet_reported(
    observed: Observed, reported: str | None, steps: list[str]
) -> None:
    assert deployment_steps(observed, reported) == steps


@pytest.mark.parametrize(
    ("observed", "reported", "steps"),
    [
        (seen("queued", ran=False), None, ["pending"]),
        (seen("starting"), "pending", []),
        (seen("live"), "pending", ["success"]),
        (seen("live", retired=True), "success", []),  # a commit status stays success
        (seen("failed"), None, ["failure"]),
        (seen("superseded", ran=False), "pending", ["error"]),
        (seen("superseded", ran=False), None, []),
    ],
)
def test_a_commit_status_says_only_where_the_deployment_is_now(
    observed: Observed, reported: str | None, steps: list[str]
) -> None:
    assert status_steps(observed, reported) == steps


def test_final_states_end_reporting() -> None:
    assert not is_final("deployments", "success")  # it turns inactive when replaced
    assert is_final("deployments", "inactive") and is_final("statuses", "success")
    assert not settled("deployments", seen("live"))
    assert settled("deployments", seen("live", retired=True)) and settled("statuses", seen("live"))
    assert settled("deployments", seen("superseded", ran=False))
    assert not settled("statuses", seen("building"))


def test_the_mode_follows_the_installation_permissions() -> None:
    both = {"deployments": "write", "statuses": "write"}
    assert reporting_for(both).mode == "deployments"
    assert reporting_for({"statuses": "write"}).mode == "statuses"
    assert reporting_for({"deployments": "read", "statuses": "read"}).mode == "none"
    off = reporting_for({"contents": "read"})
    assert off.mode == "none" and off.reason is not None and "deployments: write" in off.reason
    assert reporting_for(both, suspended=True).mode == "none"
    assert reporting_for(None).mode == "none"
