"""pytest plugin: `gh`, the GitHub simulator (served) wired to an in-process NanoScale.

A module says what it needs with `pytest.mark.github_harness(...)`:
  delivers=True   the simulator delivers webhooks to NanoScale (and the test waits for the
                  last ones before teardown)
  deploys=True    settings for deploying through the worker (a traversable data dir, short
                  health checks, leases and polls)
Every request NanoScale sent is checked against GitHub's OpenAPI at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nanoscale.settings import Settings
from tests.fakes.github.simulator import GitHubSimulator, ServedSimulator
from tests.support.github_app import GitHubHarness, github_harness

DEPLOYING: dict[str, Any] = {
    "health_check_timeout_seconds": 20,
    "drain_seconds": 0.2,
    "lease_seconds": 5,
    "worker_poll_seconds": 0.1,
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "github_harness(delivers, deploys): how the `gh` fixture is set up"
    )


@pytest.fixture
def gh(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    database_url: str,
    github_sim: GitHubSimulator,
    github_served: ServedSimulator,
) -> Iterator[GitHubHarness]:
    marker = request.node.get_closest_marker("github_harness")
    options = dict(marker.kwargs) if marker else {}
    overrides: dict[str, Any] = {}
    if options.get("deploys"):
        overrides = {**DEPLOYING, "data_dir": request.getfixturevalue("deploy_data_dir")}
    with github_harness(
        make_settings, github_sim, github_served, database_url=database_url, **overrides
    ) as harness:
        if options.get("delivers"):
            harness.deliver_to_nanoscale()
        yield harness
        if options.get("delivers"):
            harness.sim.deliverer.wait_idle(120)
        harness.recorder.assert_clean()
