"""API tokens from the dashboard: created with the secret shown once, listed with their
last use, revoked; one user cannot see or revoke another's."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.support.api import create_user, fast_password_hashing, login, setup_admin

__all__ = ["fast_password_hashing"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def csrf_of(client: TestClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/settings").text)
    assert match
    return match.group(1)


def create(client: TestClient, name: str, lifetime: str = "90") -> str:
    page = client.post(
        "/settings/tokens",
        data={"csrf_token": csrf_of(client), "name": name, "expires_in_days": lifetime},
    )
    assert page.status_code == 201, page.text
    assert page.headers["cache-control"] == "no-store"
    match = re.search(r'id="f-new-token" class="mono" value="(nst_[^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def test_a_token_is_shown_once_used_listed_with_its_last_use_and_revoked(
    client: TestClient,
) -> None:
    setup_admin(client)
    secret = create(client, "ci-deploy")
    listing = client.get("/settings").text
    assert secret not in listing  # only the creation response ever held it
    row = re.search(r'<tr data-token-row="ci-deploy">.*?</tr>', listing, re.S)
    assert row and "never" in row.group(0)

    bearer = {"Authorization": f"Bearer {secret}"}
    with TestClient(client.app) as script:  # no cookies: the token alone
        assert script.get("/api/projects", headers=bearer).status_code == 200
    row = re.search(r'<tr data-token-row="ci-deploy">.*?</tr>', client.get("/settings").text, re.S)
    assert row
    used = re.search(r"<td data-last-used>([^<]+)</td>", row.group(0))
    assert used and used.group(1).endswith("UTC")

    token_id = re.search(
        r'action="/settings/tokens/([0-9a-f]+)/delete"', client.get("/settings").text
    )
    assert token_id
    revoked = client.post(
        f"/settings/tokens/{token_id.group(1)}/delete",
        data={"csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    with TestClient(client.app) as script:
        assert script.get("/api/projects", headers=bearer).status_code == 401
    assert "data-no-tokens" in client.get("/settings").text


def test_a_bad_name_is_reported_next_to_the_field(client: TestClient) -> None:
    setup_admin(client)
    page = client.post(
        "/settings/tokens",
        data={"csrf_token": csrf_of(client), "name": "", "expires_in_days": "90"},
    )
    assert page.status_code == 422
    assert 'id="e-name"' in page.text
    odd = client.post(
        "/settings/tokens",
        data={"csrf_token": csrf_of(client), "name": "x", "expires_in_days": "7"},
    )
    assert odd.status_code == 422
    assert 'id="e-expires_in_days"' in odd.text


def test_another_users_token_is_neither_listed_nor_revocable(client: TestClient) -> None:
    headers = {"X-CSRF-Token": setup_admin(client)}
    create(client, "admin-ci")
    token_id = re.search(
        r'action="/settings/tokens/([0-9a-f]+)/delete"', client.get("/settings").text
    )
    assert token_id
    create_user(client, headers, "member", "member password 1")
    client.cookies.clear()
    login(client, "member", "member password 1")
    assert "admin-ci" not in client.get("/settings").text
    response = client.post(
        f"/settings/tokens/{token_id.group(1)}/delete", data={"csrf_token": csrf_of(client)}
    )
    assert response.status_code == 404
