"""Secrets at rest across a key rotation (service level and `nanoscale keys rotate`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select

from nanoscale import keys
from nanoscale.accounts.models import AuditEvent, User
from nanoscale.context import AppContext, build_context
from nanoscale.crypto import KeyRing, generate_key
from nanoscale.db.engine import session_scope
from nanoscale.db.migrate import upgrade
from nanoscale.errors import SecretKeyMissing
from nanoscale.projects import secrets, service
from nanoscale.projects.models import Project
from nanoscale.projects.schemas import ProjectCreate
from nanoscale.settings import Settings
from tests.support.cli import run_cli

OLD, NEW = generate_key(), generate_key()


@pytest.fixture
def contexts(
    make_settings: Callable[..., Settings], database_url: str
) -> Callable[[str], AppContext]:
    made: list[AppContext] = []

    def _ctx(secret_key: str) -> AppContext:
        ctx = build_context(make_settings(database_url=database_url, secret_key=secret_key))
        made.append(ctx)
        return ctx

    yield _ctx  # type: ignore[misc]
    for ctx in made:
        ctx.close()


def write_projects_under_old_key(ctx: AppContext) -> list[str]:
    upgrade(ctx.engine)
    with session_scope(ctx.sessions) as db:
        owner = User(username="owner", password_hash="x")
        db.add(owner)
        db.flush()
        ids = []
        for i in range(3):
            data = ProjectCreate(
                name=f"p{i}",
                repo_url="https://github.com/o/r.git",
                env_vars={"TOKEN": f"value-{i}"},
                git_username="deploy",
                git_password=f"pw-{i}",  # type: ignore[arg-type]
            )
            ids.append(service.create_project(db, ctx=ctx, owner=owner, data=data).id)
        bare = ProjectCreate(name="bare", repo_url="https://github.com/o/r.git")
        service.create_project(db, ctx=ctx, owner=owner, data=bare)
    return ids


def read_all(ctx: AppContext, ids: list[str]) -> list[tuple[dict[str, str], object]]:
    with ctx.sessions() as db:
        rows = [db.get(Project, pid) for pid in ids]
        return [
            (
                secrets.read_env_vars(row, keyring=ctx.keyring),
                secrets.read_git_credential(row, keyring=ctx.keyring),
            )
            for row in rows
            if row is not None
        ]


def expected(n: int) -> list[tuple[dict[str, str], object]]:
    return [({"TOKEN": f"value-{i}"}, ("deploy", f"pw-{i}")) for i in range(n)]


def test_rotation_leaves_every_secret_readable_with_only_the_new_key(
    contexts: Callable[[str], AppContext],
) -> None:
    ids = write_projects_under_old_key(contexts(OLD))
    with pytest.raises(SecretKeyMissing, match="not configured"):
        read_all(contexts(NEW), ids)

    both = contexts(f"{NEW},{OLD}")
    with session_scope(both.sessions) as db:
        report = keys.rotate_keys(db, both.keyring)
    assert {column: n for column, n in report.rotated.items() if n} == {
        "projects.env_vars_encrypted": 3,
        "projects.git_password_encrypted": 3,
    }
    assert read_all(contexts(NEW), ids) == expected(3)

    with session_scope(both.sessions) as db:  # a second run has nothing left to do
        assert keys.rotate_keys(db, both.keyring).total_rotated == 0


def test_rotation_is_all_or_nothing_when_a_key_is_missing(
    contexts: Callable[[str], AppContext],
) -> None:
    ids = write_projects_under_old_key(contexts(OLD))
    wrong = contexts(f"{NEW},{generate_key()}")  # OLD is not configured
    with pytest.raises(SecretKeyMissing), session_scope(wrong.sessions) as db:
        keys.rotate_keys(db, wrong.keyring)
    assert read_all(contexts(OLD), ids) == expected(3)


def test_columns_registered_by_other_packages_are_rotated(
    contexts: Callable[[str], AppContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    old = contexts(OLD)
    upgrade(old.engine)
    extra = Table(
        "test_vault", MetaData(), Column("id", String, primary_key=True), Column("secret", String)
    )
    extra.create(old.engine)
    with old.engine.begin() as conn:
        sealed = old.keyring.encrypt("webhook-secret", context="test_vault:1")
        conn.execute(insert(extra).values(id="1", secret=sealed))
    monkeypatch.setattr(keys, "_REGISTRY", dict(keys._REGISTRY))
    keys.register_encrypted_column("test_vault", "secret", lambda row: f"test_vault:{row['id']}")

    both = contexts(f"{NEW},{OLD}")
    with session_scope(both.sessions) as db:
        assert keys.rotate_keys(db, both.keyring).rotated["test_vault.secret"] == 1
    with contexts(NEW).engine.connect() as conn:
        value = conn.execute(select(extra.c.secret)).scalar_one()
    assert contexts(NEW).keyring.decrypt(value, context="test_vault:1") == "webhook-secret"


def test_keys_rotate_command_rotates_and_records_an_audit_event(
    contexts: Callable[[str], AppContext],
    database_url: str,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = write_projects_under_old_key(contexts(OLD))
    data_dir = make_settings().data_dir
    monkeypatch.setenv("NANOSCALE_DATABASE_URL", database_url)
    monkeypatch.setenv("NANOSCALE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("NANOSCALE_SECRET_KEY", f"{NEW},{OLD}")
    result = run_cli("keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "6 of 6 secrets re-encrypted" in result.output
    new = contexts(NEW)
    assert read_all(new, ids) == expected(3)
    with new.sessions() as db:
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "keys.rotated"))


def test_keys_generate_prints_a_usable_key() -> None:
    result = run_cli("keys", "generate")
    assert result.exit_code == 0
    ring = KeyRing([result.output.strip()])
    assert ring.decrypt(ring.encrypt("x", context="c"), context="c") == "x"
