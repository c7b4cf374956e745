"""Project statuses for lists and the overview come from one bounded set of queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.db.engine import session_scope
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.reads.overview import overview
from nanoscale.deployments.reads.status import overview_counts, project_status, project_summaries
from nanoscale.projects.models import Project
from tests.support.api import setup_admin

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def add_user(session: Session, name: str, *, admin: bool = False) -> User:
    user = User(username=name, password_hash="x", is_admin=admin)
    session.add(user)
    session.flush()
    return user


def add_project(session: Session, owner: User, name: str, port: int) -> Project:
    project = Project(owner_id=owner.id, name=name, repo_url="https://git.example/a.git", port=port)
    session.add(project)
    session.flush()
    return project


def add_deployment(
    session: Session, project: Project, state: str, minute: int, **extra: Any
) -> Deployment:
    deployment = Deployment(
        project_id=project.id, trigger="manual", state=state, correlation={},
        commit_sha=f"{minute:02d}" + "a" * 38, queued_at=T0 + timedelta(minutes=minute),
        finished_at=T0 + timedelta(minutes=minute, seconds=30), **extra,
    )  # fmt: skip
    session.add(deployment)
    session.flush()
    return deployment


@contextmanager
def counted_statements(context: AppContext) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(context.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(context.engine, "before_cursor_execute", record)


def populate(session: Session, owner: User, count: int, offset: int = 0) -> list[Project]:
    """`count` projects cycling through live, building, failed and stopped."""
    projects = []
    for i in range(count):
        project = add_project(session, owner, f"p{offset + i}", port=20000 + offset + i)
        kind = i % 4
        if kind == 0:  # live, although a later deployment failed
            add_deployment(session, project, "live", 1)
            add_deployment(session, project, "failed", 2)
        elif kind == 1:  # building on top of a live release
            add_deployment(session, project, "live", 1)
            add_deployment(session, project, "building", 3)
        elif kind == 2:  # the release was replaced and then the newest failed
            add_deployment(session, project, "live", 1, release_stopped_at=T0)
            add_deployment(session, project, "failed", 4)
        projects.append(project)
    return projects


def test_summaries_give_each_project_its_status_and_newest_deployment(
    context: AppContext,
) -> None:
    with session_scope(context.sessions) as session:
        owner, other = add_user(session, "owner"), add_user(session, "other")
        populate(session, owner, 4)
        add_deployment(session, add_project(session, other, "theirs", 30000), "live", 1)
        summaries = project_summaries(session, user=owner, ctx=context)

        assert {s.project.name: s.status for s in summaries} == {
            "p0": "live", "p1": "building", "p2": "failed", "p3": "stopped",
        }  # fmt: skip
        latest = {s.project.name: s.latest.state if s.latest else None for s in summaries}
        assert latest == {"p0": "failed", "p1": "building", "p2": "failed", "p3": None}
        # The single-project path agrees with the list.
        for summary in summaries:
            assert project_status(session, project_id=summary.project.id) == summary.status
        assert overview_counts(summaries) == {
            "live": 1, "building": 1, "failed": 1, "stopped": 1, "total": 4,
        }  # fmt: skip


def test_summary_queries_do_not_grow_with_the_number_of_projects(context: AppContext) -> None:
    with session_scope(context.sessions) as session:
        few, many = add_user(session, "few"), add_user(session, "many")
        populate(session, few, 2)
        populate(session, many, 12, offset=100)
        session.flush()
        with counted_statements(context) as small:
            assert len(project_summaries(session, user=few, ctx=context)) == 2
        with counted_statements(context) as large:
            assert len(project_summaries(session, user=many, ctx=context)) == 12

    assert len(large) == len(small)
    assert len(small) <= 6


def test_overview_feed_and_counts_take_a_fixed_number_of_queries(context: AppContext) -> None:
    with session_scope(context.sessions) as session:
        few, many = add_user(session, "few"), add_user(session, "many")
        populate(session, few, 1)
        populate(session, many, 12, offset=100)
    sizes = []
    for name in ("few", "many"):
        with session_scope(context.sessions) as session:
            user = session.query(User).filter_by(username=name).one()
            with counted_statements(context) as statements:
                page = overview(session, user=user, ctx=context)
            sizes.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
    assert sizes[0] == sizes[1]
    assert page.counts["total"] == 12
    assert len(page.feed) == 10
    queued = [item.deployment.queued_at for item in page.feed]
    assert queued == sorted(queued, reverse=True)
    assert {item.project_name for item in page.feed} <= {f"p{100 + i}" for i in range(12)}


def test_api_project_list_takes_a_fixed_number_of_queries(
    client: TestClient, context: AppContext
) -> None:
    headers = {"X-CSRF-Token": setup_admin(client)}
    with session_scope(context.sessions) as session:
        admin = session.scalars(select(User)).one()
        populate(session, admin, 2)

    def listed() -> tuple[list[str], int]:
        with counted_statements(context) as statements:
            response = client.get("/api/projects", headers=headers)
        assert response.status_code == 200, response.text
        return [p["status"] for p in response.json()], len(statements)

    few_statuses, few_queries = listed()
    with session_scope(context.sessions) as session:
        admin = session.scalars(select(User)).one()
        populate(session, admin, 10, offset=100)
    many_statuses, many_queries = listed()

    assert few_statuses == ["live", "building"]
    assert len(many_statuses) == 12
    assert many_queries == few_queries
