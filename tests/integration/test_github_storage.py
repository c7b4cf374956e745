"""The GitHub tables: revision 0002 upgrades a database made at revision 0001 without drift,
and every GitHub secret column is re-encrypted by `nanoscale keys rotate`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from alembic import command
from sqlalchemy import text

from nanoscale import keys
from nanoscale.accounts.models import User
from nanoscale.context import build_context
from nanoscale.crypto import KeyRing, generate_key
from nanoscale.db.base import utcnow
from nanoscale.db.engine import session_scope
from nanoscale.db.migrate import alembic_config, drift, upgrade
from nanoscale.github import models as m
from nanoscale.github.sealed import seal, unseal
from nanoscale.projects.models import Project
from nanoscale.settings import Settings

GITHUB_COLUMNS = {
    ("github_user_links", "access_token_encrypted"),
    ("github_user_links", "refresh_token_encrypted"),
    ("github_oauth_states", "verifier_encrypted"),
    ("project_github_links", "webhook_secret_encrypted"),
}


def test_revision_0002_upgrades_a_0001_database_with_data(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    ctx = build_context(make_settings(database_url=database_url))
    try:
        url = ctx.engine.url.render_as_string(hide_password=False)
        with ctx.engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
            conn.execute(
                text("INSERT INTO users (id, username, password_hash, is_admin, created_at, "
                     "updated_at) VALUES ('u1', 'old', 'x', false, CURRENT_TIMESTAMP, "
                     "CURRENT_TIMESTAMP)")
            )  # fmt: skip
        upgrade(ctx.engine)
        assert drift(ctx.engine) == []
        with session_scope(ctx.sessions) as db:
            assert db.get(User, "u1") is not None
            assert db.query(m.GitHubUserLink).count() == 0
    finally:
        ctx.close()


def test_every_github_secret_column_is_rotated(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    old, new = generate_key(), generate_key()
    ctx = build_context(make_settings(database_url=database_url, secret_key=old))
    upgrade(ctx.engine)
    ring = ctx.keyring
    with session_scope(ctx.sessions) as db:
        user = User(username="alice", password_hash="x")
        db.add(user)
        db.flush()
        project = Project(owner_id=user.id, name="p", repo_url="https://github.com/a/b.git",
                          port=20001, source_provider="github", source_repo_id=7)  # fmt: skip
        db.add(project)
        link = m.GitHubUserLink(id="l1", local_user_id=user.id, github_user_id=1,
                                github_login="alice", access_token_encrypted="")  # fmt: skip
        link.access_token_encrypted = seal(ring, m.ACCESS_TOKEN_CONTEXT, "l1", "ghu_access")
        link.refresh_token_encrypted = seal(ring, m.REFRESH_TOKEN_CONTEXT, "l1", "ghr_refresh")
        state = m.GitHubOAuthState(id="s1", state_hash="h", local_user_id=user.id,
                                   verifier_encrypted=seal(ring, m.VERIFIER_CONTEXT, "s1", "v"),
                                   expires_at=utcnow() + timedelta(minutes=10))  # fmt: skip
        db.add_all([link, state])
        db.flush()
        db.add(
            m.ProjectGitHubLink(
                id="p1", project_id=project.id, installation_id=1, repo_id=7, repo_node_id="n",
                owner_login="a", repo_name="b", full_name="a/b", default_branch="main",
                selected_branch="main",
                webhook_secret_encrypted=seal(ring, m.WEBHOOK_SECRET_CONTEXT, "p1", "hooksecret"),
            )
        )  # fmt: skip
    registered = {(c.table, c.column) for c in keys.encrypted_columns()}
    assert registered >= GITHUB_COLUMNS
    rotated_ring = KeyRing([new, old])
    with session_scope(ctx.sessions) as db:
        report = keys.rotate_keys(db, rotated_ring)
    for table, column in GITHUB_COLUMNS:
        assert report.rotated[f"{table}.{column}"] == 1
    only_new = KeyRing([new])
    with session_scope(ctx.sessions) as db:
        link = db.get_one(m.GitHubUserLink, "l1")
        assert unseal(only_new, m.ACCESS_TOKEN_CONTEXT, "l1", link.access_token_encrypted) == (
            "ghu_access"
        )
        assert link.refresh_token_encrypted is not None
        assert "ghr_refresh" not in link.refresh_token_encrypted
        hook = db.get_one(m.ProjectGitHubLink, "p1")
        assert unseal(only_new, m.WEBHOOK_SECRET_CONTEXT, "p1", hook.webhook_secret_encrypted) == (
            "hooksecret"
        )
    ctx.close()
