"""Dashboard presentation helpers: step timelines, env var form rows, safe redirects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import FormData

from nanoscale.dashboard.forms import env_patch, env_rows, form_values
from nanoscale.dashboard.pages_auth import _safe_next
from nanoscale.dashboard.views import DeploymentRow, deployment_row, deployment_steps
from nanoscale.deployments.models import Deployment
from nanoscale.errors import InvalidInput

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def deployment(state: str, **marks: datetime) -> Deployment:
    return Deployment(
        id="d1", project_id="p1", trigger="manual", state=state, queued_at=T0, correlation={},
        **marks,
    )  # fmt: skip


def states(d: Deployment) -> dict[str, str]:
    return {step.name: step.state for step in deployment_steps(d)}


def test_running_build_shows_earlier_steps_done_and_later_ones_pending() -> None:
    d = deployment("building", fetching_at=at(1), building_at=at(2))
    assert states(d) == {"queue": "done", "fetch": "done", "build": "running", "start": "pending"}


def test_build_failure_marks_the_build_failed_and_skips_the_rest() -> None:
    d = deployment("failed", fetching_at=at(1), building_at=at(2), finished_at=at(5))
    assert states(d) == {"queue": "done", "fetch": "done", "build": "failed", "start": "skipped"}
    assert deployment_steps(d)[2].duration == "3.0s"


def test_live_deployment_has_every_step_done() -> None:
    d = deployment(
        "live", fetching_at=at(1), building_at=at(2), starting_at=at(3), finished_at=at(64)
    )
    assert set(states(d).values()) == {"done"}
    assert deployment_steps(d)[3].duration == "1m 1s"


def test_a_replaced_release_is_shown_as_replaced() -> None:
    d = deployment("live", finished_at=at(3), release_stopped_at=at(9))
    assert deployment_row(d).shown_state == "replaced"
    assert deployment_row(deployment("live", finished_at=at(3))).shown_state == "live"


def form(*items: tuple[str, str]) -> FormData:
    return FormData(list(items))


def test_env_rows_set_keep_and_remove_variables() -> None:
    data = form(
        ("env_key", "KEPT"), ("env_value", ""),
        ("env_key", "NEW"), ("env_value", "v"),
        ("env_key", ""), ("env_value", ""),
        ("env_remove", "OLD"),
    )  # fmt: skip
    assert env_patch(data) == {"NEW": "v", "OLD": None}


def test_new_project_env_row_without_value_is_an_error() -> None:
    problems: list[InvalidInput] = []
    patch = env_patch(form(("env_key", "TOKEN"), ("env_value", "")), problems=problems)
    assert patch == {}
    assert [p.field for p in problems] == ["env_vars"]


def test_preset_fills_only_empty_commands_unless_the_browser_already_did() -> None:
    chosen = form(("preset", "node"), ("start_command", "node server.js"))
    assert form_values(chosen)["install_command"] == "npm ci"
    assert form_values(chosen)["start_command"] == "node server.js"
    cleared = form(("preset", "node"), ("preset_applied", "1"), ("install_command", ""))
    assert form_values(cleared)["install_command"] == ""


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/projects", "/projects"), ("//evil.example", "/"), ("https://evil.example", "/"),
     ("/\\evil.example", "/")],
)  # fmt: skip
def test_login_redirects_only_to_same_site_paths(target: str, expected: str) -> None:
    assert _safe_next(target) == expected


def test_env_rows_bring_back_typed_names_and_which_values_to_re_enter() -> None:
    data = form(
        ("env_key", "KEPT"), ("env_value", "new-secret"),
        ("env_key", "API_URL"), ("env_value", "https://x"),
        ("env_key", "EMPTY"), ("env_value", ""),
        ("env_key", ""), ("env_value", "orphan"),
        ("env_remove", "OLD"), ("env_remove", "UNKNOWN"),
    )  # fmt: skip
    rows = env_rows(data, existing=["KEPT", "OLD"])
    assert rows.typed == ["API_URL", "EMPTY"]
    assert rows.retype == {"KEPT", "API_URL"}
    assert rows.removed == {"OLD"}


def test_rollback_targets_list_each_earlier_commit_once_and_never_the_live_one() -> None:
    from nanoscale.dashboard.project_view import rollback_targets

    def row(ident: str, sha: str, state: str = "live") -> DeploymentRow:
        made = deployment(state, finished_at=at(1))
        made.id, made.commit_sha = ident, sha * 40
        return deployment_row(made)

    live = row("d5", "c")  # newest first, as the page lists them
    rows = [
        live,
        row("d4", "b"),
        row("d3", "c"),
        row("d2", "b"),
        row("d1", "a", "failed"),
        row("d0", "a"),
    ]
    targets = rollback_targets(rows, live)
    assert [t.id for t in targets] == ["d4", "d0"]
