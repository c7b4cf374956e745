"""The New Project form's GitHub mode: installation, repository page (search, cursor) and the
selected repository's branches, gathered through the GitHub services.

Every step is a plain GET with query parameters (`installation_id`, `q`, `cursor`, `repo_id`),
so the picker works without JavaScript; htmx only swaps the repository list in place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.dashboard.github_connection import Connection, connection
from nanoscale.errors import NanoScaleError
from nanoscale.github import service
from nanoscale.github.views import Branches, repository_branches

PAGE_SIZE = 10
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class PickerQuery:
    installation_id: int | None
    repo_id: int | None
    q: str
    cursor: str | None

    @classmethod
    def parse(cls, params: Any) -> PickerQuery:
        return cls(
            installation_id=_github_id(params.get("installation_id")),
            repo_id=_github_id(params.get("repo_id")),
            q=str(params.get("q") or "").strip()[: service.MAX_QUERY],
            cursor=str(params.get("cursor") or "")[:1024] or None,
        )


def _github_id(raw: Any) -> int | None:
    text = str(raw or "").strip()
    if not text.isdigit():
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def repository_page(
    db: Session, *, ctx: AppContext, user: User, query: PickerQuery, installation_id: int
) -> dict[str, Any]:
    """The repository list for the picker (also the htmx partial's context)."""
    try:
        page = service.list_repositories(
            db, ctx=ctx, user=user, installation_id=installation_id,
            cursor=query.cursor, query=query.q or None, limit=PAGE_SIZE,
        )  # fmt: skip
    except NanoScaleError as exc:
        return {"repos": [], "next_cursor": None, "repo_error": exc.message, "query": query,
                "installation_id": installation_id}  # fmt: skip
    return {"repos": page.repositories, "next_cursor": page.next_cursor, "repo_error": None,
            "query": query, "installation_id": installation_id}  # fmt: skip


def picker_context(
    db: Session, *, ctx: AppContext, user: User, query: PickerQuery
) -> dict[str, Any]:
    conn: Connection = connection(db, ctx=ctx, user=user)
    context: dict[str, Any] = {"gh": conn, "query": query, "selected": None,
                               "branches": None, "branch_error": None}  # fmt: skip
    usable = [i for i in conn.installations if not i["suspended"]]
    if not conn.connected or not usable:
        return context
    ids = [int(i["installation_id"]) for i in usable]
    installation_id = ids[0]
    if query.installation_id is not None and query.installation_id in ids:
        installation_id = query.installation_id
    context.update(repository_page(db, ctx=ctx, user=user, query=query,
                                   installation_id=installation_id))  # fmt: skip
    if query.repo_id is not None:
        try:
            branches: Branches = repository_branches(
                db, ctx=ctx, user=user, installation_id=installation_id, repo_id=query.repo_id
            )
            context.update(selected=query.repo_id, branches=branches)
        except NanoScaleError as exc:
            context["branch_error"] = exc.message
    return context
