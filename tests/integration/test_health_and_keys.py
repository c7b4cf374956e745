"""GET /api/health, the database ping behind it, and where the secret key comes from."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nanoscale import __version__
from nanoscale.context import load_keyring
from nanoscale.crypto import generate_key
from nanoscale.db.engine import make_engine, ping
from nanoscale.errors import ConfigError
from nanoscale.settings import Settings


def test_health_reports_version_and_a_working_database(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["version"], body["database"]) == ("ok", __version__, "ok")
    assert body["components"]["database"]["state"] == "ok"
    # Switched off in this configuration: reported, and not a fault.
    assert body["components"]["worker"]["state"] == "none"
    assert body["components"]["proxy"]["state"] == "none"


def test_ping_is_false_for_a_database_that_cannot_be_opened(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'nanoscale.db'}")
    try:
        assert ping(engine) is False
    finally:
        engine.dispose()


def test_development_creates_a_private_key_file(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    key_file = tmp_path / "keys" / "secret.key"
    keyring = load_keyring(make_settings(secret_key=None, secret_key_file=key_file))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = load_keyring(make_settings(secret_key=None, secret_key_file=key_file))
    assert again.primary_key_id == keyring.primary_key_id  # reused, not replaced


def test_production_refuses_a_missing_key_file(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    key_file = tmp_path / "absent.key"
    settings = make_settings(
        env="production",
        public_base_url="https://deploy.example.com",
        secret_key=None,
        secret_key_file=key_file,
    )
    with pytest.raises(ConfigError, match="NANOSCALE_SECRET_KEY_FILE") as raised:
        load_keyring(settings)
    assert "nanoscale keys generate" in raised.value.message
    assert not key_file.exists()


def test_a_configured_key_wins_over_the_key_file(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    key_file = tmp_path / "unused.key"
    load_keyring(make_settings(secret_key=generate_key(), secret_key_file=key_file))
    assert not key_file.exists()
