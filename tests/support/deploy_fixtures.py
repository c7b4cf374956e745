"""Pytest fixtures for deploy tests (registered in tests/conftest.py).

`git_server`: git smart HTTP on loopback. `deploy`: a `DeployHarness` on SQLite with the
process runtime and no proxy; `deploy_pg`: the same on the throwaway PostgreSQL server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nanoscale.settings import Settings
from tests.support.deploy import (
    DeployHarness,
    deploy_harness,
    deploy_settings_overrides,
    traversable_dir,
)
from tests.support.git_server import GitServer
from tests.support.postgres import create_database


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitServer]:
    with GitServer(tmp_path / "git") as server:
        yield server


@pytest.fixture
def deploy_data_dir() -> Iterator[Path]:
    with traversable_dir("nanoscale-deploy-") as path:
        yield path / "var"


@pytest.fixture
def deploy(
    make_settings: Callable[..., Settings], git_server: GitServer, deploy_data_dir: Path
) -> Iterator[DeployHarness]:
    settings = make_settings(**deploy_settings_overrides(deploy_data_dir, git_server))
    with deploy_harness(settings, git_server) as harness:
        yield harness


@pytest.fixture
def deploy_pg(
    make_settings: Callable[..., Settings],
    git_server: GitServer,
    deploy_data_dir: Path,
    postgres_admin_url: str,
) -> Iterator[DeployHarness]:
    settings = make_settings(
        **deploy_settings_overrides(deploy_data_dir, git_server),
        database_url=create_database(postgres_admin_url),
    )
    with deploy_harness(settings, git_server) as harness:
        yield harness
