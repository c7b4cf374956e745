"""Before a project is created or its source changes: is the repository reachable with the
given credentials, and does the branch exist there?

One `git ls-remote` through the engine's git helpers, so the credential travels the same way
as in every fetch (the environment only: never argv, a URL or a file). Callers run it with no
database transaction open (`source_head` ends it first): on SQLite an open write transaction
would hold the database's lock for as long as the Git host takes to answer. Failures name the
form field to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from nanoscale.db.transactions import outside_transaction
from nanoscale.engine.credentials import (
    CredentialProvider,
    GitCredentials,
    HostCredentials,
    NoCredentials,
)
from nanoscale.engine.fetch import resolve_ref
from nanoscale.errors import InvalidInput, NanoScaleError

CHECK_TIMEOUT_SECONDS = 20


def source_head(session: Session, *, fields: Mapping[str, Any], password: str | None) -> str:
    """`branch_head` of a project's cleaned source `fields`, asked with no lock held: the
    caller's pending work is committed first, so it must already be whole."""
    with outside_transaction(session):
        return branch_head(
            url=fields["repo_url"],
            branch=fields["branch"],
            username=fields["git_username"],
            password=password,
        )


def branch_head(*, url: str, branch: str, username: str | None, password: str | None) -> str:
    """The SHA `branch` points at, or InvalidInput naming the field that explains why not."""
    credentials: CredentialProvider = NoCredentials()
    if username and password:
        credentials = HostCredentials(url, GitCredentials(username, password))
    try:
        return resolve_ref(
            url=url, ref=branch, credentials=credentials, timeout=CHECK_TIMEOUT_SECONDS
        )
    except NanoScaleError as exc:
        raise _field_error(exc, branch=branch, with_credentials=bool(password)) from None


def _field_error(exc: NanoScaleError, *, branch: str, with_credentials: bool) -> InvalidInput:
    if exc.code == "ref_not_found":
        return InvalidInput(
            f"the repository has no branch {branch!r}", code="branch_not_found", field="branch"
        )
    if exc.code == "git_auth_failed":
        if with_credentials:
            return InvalidInput(
                "the Git host refused this username and password (or token)",
                code="git_credentials_refused",
                field="git_password",
            )
        return InvalidInput(
            "the Git host asks for credentials: give a Git username and password (or token)",
            code="git_credentials_required",
            field="repo_url",
        )
    if exc.code == "commit_not_found":
        return InvalidInput(
            "no repository at this URL (a private one needs credentials)",
            code="repository_not_found",
            field="repo_url",
        )
    if exc.code == "git_redirect_refused":
        return InvalidInput(
            "the Git host redirects this URL elsewhere; give the final repository URL",
            code="git_redirect_refused",
            field="repo_url",
        )
    detail = exc.message.splitlines()[-1][-300:] if exc.message else ""
    return InvalidInput(
        f"could not reach the repository: {detail}", code="repository_unreachable", field="repo_url"
    )
