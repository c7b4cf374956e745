"""The GitHub connection as the dashboard shows it: configured or not, connected as whom,
which installations, where to manage repository access, and callback outcomes in plain words.

Reads go through the GitHub services; nothing here holds or renders a token or secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from nanoscale.accounts.models import User
from nanoscale.context import AppContext
from nanoscale.errors import NanoScaleError
from nanoscale.github import service
from nanoscale.github.avatars import shown_avatar
from nanoscale.github.runtime import gateway_for

# `github=` and `github_error=` as the callback and setup steps send them back.
OUTCOMES = {
    "connected": "GitHub connected. Install the App on an account to pick its repositories.",
    "installed": "The NanoScale App is installed. Its repositories are now available.",
    "disconnected": "GitHub disconnected. Deployed projects keep serving; pushes no longer "
    "deploy them.",
}
ERRORS = {
    "access_denied": "You cancelled on GitHub, so nothing was connected. Connect again when ready.",
    "github_access_denied": "You cancelled on GitHub, so nothing was connected.",
    "github_state_expired": "That GitHub sign-in took too long and expired. Start again.",
    "github_state_used": "That GitHub sign-in link was already used. Start again.",
    "github_state_invalid": "That GitHub sign-in is not one this browser started. Start again.",
    "github_state_foreign": "That GitHub sign-in was started by another NanoScale session. "
    "Start again here.",
    "github_code_invalid": "GitHub did not accept the sign-in (the code was invalid or "
    "expired). Start again.",
    "github_account_taken": "That GitHub account is already linked to another NanoScale user. "
    "Disconnect it there first, or sign in to GitHub as someone else.",
    "github_already_connected": "You are already connected as another GitHub account. "
    "Disconnect first to switch accounts.",
    "github_installation_not_accessible": "That installation is not accessible to your GitHub "
    "account, so it was not added.",
    "github_disconnect_unconfirmed": "Tick the confirmation to disconnect GitHub.",
    "invalid_input": "GitHub sent back something NanoScale could not read. Start again.",
    "unauthenticated": "Sign in to NanoScale first, then connect GitHub.",
    "github_not_configured": "The GitHub App is not configured on this server.",
    "github_unavailable": "GitHub could not be reached. Try again in a moment.",
    "github_rate_limited": "GitHub's rate limit was reached. Try again in a few minutes.",
}


def error_text(code: str) -> str:
    return ERRORS.get(code, f"Connecting GitHub failed ({code[:64]}). Try again.")


@dataclass
class Connection:
    configured: bool
    connected: bool = False
    login: str | None = None
    avatar_url: str | None = None  # on the configured GitHub's avatar origin (github/avatars.py)
    reconnect_needed: bool = False
    installations: list[dict[str, Any]] = field(default_factory=list)
    manage_url: str | None = None  # the App's installation page on GitHub
    problem: str | None = None  # GitHub unreachable or rate-limited, in words


def connection(db: Session, *, ctx: AppContext, user: User) -> Connection:
    status = service.status(db, ctx=ctx, user=user)
    conn = Connection(
        configured=bool(status["configured"]),
        connected=bool(status["connected"]),
        login=status["login"],
        # checked again: NANOSCALE_GITHUB_URL (and so the CSP's avatar origin) may have changed
        avatar_url=shown_avatar(status["avatar_url"], github_url=ctx.settings.github_url),
        reconnect_needed=bool(status["reconnect_needed"]),
        installations=list(status["installations"]),
    )
    if not conn.configured:
        return conn
    try:
        slug = gateway_for(ctx).app_slug()  # cached after the first answer
        conn.manage_url = f"{ctx.settings.github_url}/apps/{slug}/installations/new"
    except NanoScaleError as exc:
        conn.problem = error_text(exc.code) if exc.code in ERRORS else exc.message
    return conn


def notices(query: dict[str, str]) -> tuple[str | None, str | None]:
    """(notice, error) for the `github=`/`github_error=` parameters of a page URL."""
    notice = OUTCOMES.get(query.get("github", ""))
    code = query.get("github_error", "")
    return notice, error_text(code) if code else None
