"""Minimal HTML for the browser-facing pages, plus the simulator's notion of "signed in"."""

from __future__ import annotations

from html import escape

from starlette.requests import Request

from .state import Account, SimState

STYLE = "body{font-family:sans-serif;max-width:40rem;margin:2rem auto}button{margin:.3rem}"


def page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def signed_in_user(request: Request, login: str | None = None) -> Account | None:
    """Who the browser "is": an explicit ?login=, else the session cookie, else nobody."""
    state: SimState = request.app.state.sim.state
    wanted = login or request.cookies.get("gh_sim_login", "")
    account = state.account(wanted) if wanted else None
    return account if account is not None and account.type == "User" else None


def login_select(state: SimState, current: Account | None) -> str:
    users = sorted((a for a in state.accounts.values() if a.type == "User"), key=lambda a: a.login)
    options = "".join(
        f'<option value="{escape(u.login)}"{" selected" if u is current else ""}>'
        f"{escape(u.login)}</option>"
        for u in users
    )
    return f'<select name="login">{options}</select>'
