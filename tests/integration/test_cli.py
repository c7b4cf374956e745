"""The `nanoscale` CLI: user management and `doctor`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from nanoscale.accounts.models import AuditEvent
from nanoscale.context import AppContext
from nanoscale.crypto import generate_key
from tests.support.caddy import CaddyInstance
from tests.support.cli import run_cli
from tests.support.deploy import traversable_dir


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Path]:
    """NANOSCALE_* for the CLI: a temp data dir project users can reach (as in production;
    pytest's tmp_path is not) and the parametrized database."""
    for name in ("NANOSCALE_RUNTIME", "NANOSCALE_ENV", "NANOSCALE_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NANOSCALE_PROXY", "none")
    with traversable_dir("nanoscale-cli-") as root:
        monkeypatch.setenv("NANOSCALE_DATA_DIR", str(root / "var"))
        monkeypatch.setenv("NANOSCALE_DATABASE_URL", database_url)
        monkeypatch.setenv("NANOSCALE_SECRET_KEY", generate_key())
        yield root / "var"


def test_user_create_list_delete(env: Path, context: AppContext) -> None:
    created = run_cli(
        "user", "create", "Alice", "--admin", input="alice password\nalice password\n"
    )
    assert created.exit_code == 0, created.output
    assert "created admin alice" in created.output
    assert "alice password" not in created.output.split("Password")[-1]
    assert (
        run_cli("user", "create", "bob", "--password-stdin", input="bob password\n").exit_code == 0
    )

    listed = run_cli("user", "list")
    assert listed.exit_code == 0
    lines = [line.split("\t")[:2] for line in listed.output.strip().splitlines()]
    assert lines == [["alice", "admin"], ["bob", "user"]]

    assert run_cli("user", "delete", "bob").exit_code == 0
    assert "bob" not in run_cli("user", "list").output
    last_admin = run_cli("user", "delete", "alice")
    assert last_admin.exit_code == 1
    assert "last admin" in last_admin.output
    missing = run_cli("user", "delete", "nobody")
    assert missing.exit_code == 1


def test_user_create_refuses_a_weak_password(env: Path, context: AppContext) -> None:
    result = run_cli("user", "create", "carol", "--password-stdin", input="short\n")
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output


def test_cli_user_changes_are_audited(env: Path, context: AppContext) -> None:
    run_cli("user", "create", "dave", "--password-stdin", input="dave password\n")
    with context.sessions() as db:
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.created"))
    assert event is not None and event.actor_label == "cli"


def test_doctor_passes_on_a_migrated_database(env: Path, context: AppContext) -> None:
    result = run_cli("doctor")
    assert result.exit_code == 0, result.output
    assert "ok    database: reachable, migrated" in result.output
    assert "no problems found" in result.output


def test_doctor_reports_an_unmigrated_database_with_its_fix(
    env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NANOSCALE_DATABASE_URL", f"sqlite:///{tmp_path / 'missing.db'}")
    result = run_cli("doctor")
    assert result.exit_code == 1
    assert "FAIL  database" in result.output
    assert "fix: run `nanoscale db upgrade`" in result.output


def test_doctor_reports_bad_configuration(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NANOSCALE_PORT", "not-a-port")
    result = run_cli("doctor")
    assert result.exit_code == 1
    assert "NANOSCALE_PORT" in result.output


def test_doctor_checks_the_caddy_admin_socket_when_proxy_is_caddy(
    env: Path, context: AppContext, monkeypatch: pytest.MonkeyPatch, caddy: CaddyInstance
) -> None:
    monkeypatch.setenv("NANOSCALE_PROXY", "caddy")
    monkeypatch.setenv("NANOSCALE_CADDY_ADMIN", f"unix/{caddy.admin_socket}")
    assert run_cli("doctor").exit_code == 0
    caddy.root.chmod(0o711)  # others may now enter the socket's directory
    exposed = run_cli("doctor")
    assert exposed.exit_code == 1
    assert f"fix: chmod 700 {caddy.root}" in exposed.output
    caddy.root.chmod(0o700)
    caddy.stop()
    down = run_cli("doctor")
    assert down.exit_code == 1
    assert "FAIL  proxy" in down.output
    assert f"admin API does not answer on {caddy.admin_socket}" in down.output


def test_doctor_reports_a_key_file_readable_by_others(
    env: Path, context: AppContext, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text(generate_key() + "\n")
    key_file.chmod(0o644)
    monkeypatch.delenv("NANOSCALE_SECRET_KEY")
    monkeypatch.setenv("NANOSCALE_SECRET_KEY_FILE", str(key_file))
    result = run_cli("doctor")
    assert result.exit_code == 1
    assert f"fix: chmod 600 {key_file}" in result.output


@pytest.mark.skipif(os.geteuid() != 0, reason="per-project users are only used as root")
def test_doctor_reports_missing_tools_for_per_project_users(
    env: Path, context: AppContext, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # git no longer found
    result = run_cli("doctor")
    assert result.exit_code == 1
    assert "FAIL  git" in result.output
    # Privileges are dropped in-process now: no setpriv (useradd/userdel live in sbin).
    assert "setpriv" not in result.output


@pytest.mark.skipif(Path("/run/systemd/system").is_dir(), reason="this host runs systemd")
def test_doctor_reports_the_systemd_runtime_without_systemd(
    env: Path, context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NANOSCALE_RUNTIME", "systemd")
    result = run_cli("doctor")
    assert result.exit_code == 1
    assert "fix: set NANOSCALE_RUNTIME=process" in result.output
