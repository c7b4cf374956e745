"""What NanoScale writes to disk is not readable by other local users (per-project users
included): SQLite database 0600 (with its -wal/-shm), key file 0600, data dir 0711."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from nanoscale.context import AppContext, build_context
from nanoscale.db.migrate import upgrade
from nanoscale.settings import Settings
from tests.support.cli import run_cli


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def embedded(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[AppContext]:
    """The `make run` layout: SQLite and the key file under the data dir."""
    data_dir = tmp_path / "var"
    settings = make_settings(
        data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'nanoscale.db'}", secret_key=None
    )
    ctx = build_context(settings)
    upgrade(ctx.engine)
    yield ctx
    ctx.close()


def test_database_key_file_and_data_dir_modes_after_first_start(embedded: AppContext) -> None:
    data_dir = embedded.settings.data_dir
    with embedded.engine.begin() as conn:  # a write: WAL and shared-memory files exist now
        conn.execute(text("CREATE TABLE IF NOT EXISTS mode_probe (x INTEGER)"))
        database = data_dir / "nanoscale.db"
        assert mode(database) == 0o600
        assert mode(Path(f"{database}-wal")) == 0o600
        assert mode(Path(f"{database}-shm")) == 0o600
    assert mode(data_dir / "secret.key") == 0o600
    assert mode(data_dir) == 0o711


def test_an_existing_world_readable_database_is_made_private(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    database = tmp_path / "old.db"
    data_dir = tmp_path / "old-var"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    database.touch()
    database.chmod(0o644)
    ctx = build_context(make_settings(data_dir=data_dir, database_url=f"sqlite:///{database}"))
    try:
        upgrade(ctx.engine)
        assert mode(database) == 0o600
        assert mode(data_dir) == 0o711
    finally:
        ctx.close()


@pytest.mark.parametrize("name", ["nanoscale.db", "secret.key"])
def test_doctor_flags_a_database_or_key_file_readable_by_others(
    embedded: AppContext, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    for var in ("NANOSCALE_PROXY", "NANOSCALE_RUNTIME", "NANOSCALE_ENV", "NANOSCALE_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("NANOSCALE_SECRET_KEY", raising=False)
    monkeypatch.setenv("NANOSCALE_DATA_DIR", str(embedded.settings.data_dir))
    monkeypatch.setenv("NANOSCALE_DATABASE_URL", embedded.settings.resolved_database_url)
    clean = run_cli("doctor")
    assert "ok    file permissions" in clean.output, clean.output

    exposed = embedded.settings.data_dir / name
    exposed.chmod(0o644)
    result = run_cli("doctor")

    assert result.exit_code == 1
    assert f"FAIL  file permissions: readable by other users: {exposed}" in result.output
    assert f"fix: chmod 600 {exposed}" in result.output
