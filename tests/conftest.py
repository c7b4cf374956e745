"""Suite-wide fixtures: settings on a temp data dir, both database backends, the app.

`database_url` is parametrized over SQLite and a real PostgreSQL server, so every test that
uses it (directly or through `settings`, `context`, `client`) runs on both. Tests that only
need one backend (engine, browser) use `sqlite_url`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nanoscale.app import create_app
from nanoscale.context import AppContext, build_context
from nanoscale.crypto import generate_key
from nanoscale.db.migrate import upgrade
from nanoscale.settings import Settings, load_settings
from tests.support.postgres import create_database, throwaway_postgres

pytest_plugins = [
    "tests.fakes.github.fixtures",
    "tests.support.caddy_fixtures",
    "tests.support.deploy_fixtures",
    "tests.support.github_fixtures",
]


def _own_port_block_per_xdist_worker() -> None:
    """pytest-xdist workers share this host: each gets its own slice of the project port range,
    so two workers' projects never claim the same stable port (releases pick free random ports)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    size = 10_000 // max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    start = 20_000 + int(worker[2:]) * size
    os.environ["NANOSCALE_PORT_RANGE_START"] = str(start)
    os.environ["NANOSCALE_PORT_RANGE_END"] = str(start + size - 1)


_own_port_block_per_xdist_worker()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nanoscale.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nanoscale.db'}"
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    return create_database(admin_url)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings isolated in tmp_path; keyword overrides win over the defaults here."""

    def _make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "var",
            "secret_key": generate_key(),
            "database_url": f"sqlite:///{tmp_path / 'nanoscale.db'}",
            "worker_enabled": False,
            "proxy": "none",  # tests that drive Caddy start their own (tests/support/caddy.py)
            "allowed_hosts": "testserver",  # the Host header Starlette's TestClient sends
            # Most tests name repositories nothing serves; tests of the creation-time check
            # (tests/integration/test_project_source_check.py) turn it on.
            "verify_git_source": False,
        }
        values.update(overrides)
        return load_settings(**values)

    return _make


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def context(settings: Settings) -> Iterator[AppContext]:
    ctx = build_context(settings)
    upgrade(ctx.engine)
    yield ctx
    ctx.close()


@pytest.fixture
def client(settings: Settings, context: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(settings, context=context)) as test_client:
        yield test_client
