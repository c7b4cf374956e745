"""The dashboard's Origin check on its own: a form that carries a valid session and a valid
CSRF token but comes from another origin (or names one in Referer) is refused with 403 and
changes nothing; the identical request from the dashboard's own origin succeeds."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from nanoscale.context import AppContext
from tests.support.api import ADMIN, fast_password_hashing, setup_admin
from tests.support.db_snapshot import snapshot

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

OWN = "http://testserver"
FOREIGN = [
    {"Origin": "http://attacker.example"},
    {"Origin": "http://testserver.attacker.example"},
    {"Origin": "https://testserver"},  # another scheme is another origin
    {"Origin": "http://testserver:8443"},  # and so is another port (an app beside us)
    {"Referer": "http://attacker.example/page"},  # no Origin: the Referer decides
    {"Origin": "null"},  # sandboxed frames and some redirects
]


def _form_token(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"{path} carries a CSRF token"
    return match.group(1)


@pytest.mark.parametrize("foreign", FOREIGN, ids=lambda h: next(iter(h.values())))
def test_a_signed_in_form_with_a_valid_token_from_another_origin_is_refused(
    client: TestClient, context: AppContext, foreign: dict[str, str]
) -> None:
    setup_admin(client)
    form = {"csrf_token": _form_token(client, "/settings"), "username": "mallory",
            "password": "mallory password", "is_admin": "1"}  # fmt: skip
    before = snapshot(context)

    refused = client.post("/settings/users", data=form, headers=foreign, follow_redirects=False)

    assert refused.status_code == 403, refused.text[:300]
    assert snapshot(context) == before
    accepted = client.post(
        "/settings/users", data=form, headers={"Origin": OWN}, follow_redirects=False
    )
    assert accepted.status_code == 303, accepted.text[:300]
    assert accepted.headers["location"] == "/settings?done=user_added"


@pytest.mark.parametrize("foreign", FOREIGN, ids=lambda h: next(iter(h.values())))
def test_a_login_form_with_a_valid_token_from_another_origin_is_refused(
    client: TestClient, context: AppContext, foreign: dict[str, str]
) -> None:
    setup_admin(client)
    client.cookies.clear()
    form = {"csrf_token": _form_token(client, "/login"), "username": ADMIN[0],
            "password": ADMIN[1]}  # fmt: skip

    refused = client.post("/login", data=form, headers=foreign, follow_redirects=False)

    assert refused.status_code == 403
    assert "nanoscale_session" not in refused.headers.get("set-cookie", "")
    accepted = client.post("/login", data=form, headers={"Origin": OWN}, follow_redirects=False)
    assert accepted.status_code == 303
