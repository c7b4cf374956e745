"""Revision 0006 (status reporting) upgrades a database that already holds deployments without
drift, and records each existing deployment as done: an upgrade never reports history."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from sqlalchemy import select

from nanoscale.accounts.models import User
from nanoscale.context import build_context
from nanoscale.db.engine import session_scope
from nanoscale.db.migrate import alembic_config, drift, upgrade
from nanoscale.deployments.models import Deployment
from nanoscale.github.status_reports.models import GitHubStatusReport
from nanoscale.projects.models import Project
from nanoscale.settings import Settings


def test_existing_deployments_are_recorded_as_reported(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    ctx = build_context(make_settings(database_url=database_url))
    try:
        upgrade(ctx.engine)
        with session_scope(ctx.sessions) as db:
            db.add(User(id="u1", username="old", password_hash="x"))
            db.flush()
            db.add(Project(id="p1", owner_id="u1", name="old", repo_url="https://x/y.git",
                           port=41234))  # fmt: skip
            db.flush()
            db.add(Deployment(id="d1", project_id="p1", commit_sha="a" * 40, trigger="push",
                              state="live"))  # fmt: skip
        cfg = alembic_config(ctx.engine.url.render_as_string(hide_password=False))
        with ctx.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0006-1")  # the database as the release before had it
        upgrade(ctx.engine)
        assert drift(ctx.engine) == []
        with session_scope(ctx.sessions) as db:
            (row,) = db.scalars(select(GitHubStatusReport))
            assert (row.deployment_id, row.mode, row.done) == ("d1", "none", True)
            assert row.reported_state is None and row.updated_at is not None
    finally:
        ctx.close()
