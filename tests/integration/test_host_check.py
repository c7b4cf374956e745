"""Host header validation (DNS rebinding) and the CSRF origin check that relies on it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from nanoscale.host_check import allowed_hosts, host_name
from nanoscale.settings import Settings
from tests.support.api import fast_password_hashing, make_client

__all__ = ["fast_password_hashing", "make_client"]
pytestmark = pytest.mark.usefixtures("fast_password_hashing")

SETUP = {"username": "admin", "password": "correct horse battery"}
REBOUND = "rebind.attacker.example:8000"


def test_first_run_setup_through_a_rebound_host_name_is_refused(client: TestClient) -> None:
    headers = {"Host": REBOUND, "Origin": f"http://{REBOUND}"}
    api = client.post("/api/auth/setup", json=SETUP, headers=headers)
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "host_not_allowed"
    assert "rebind" not in api.text  # the header's value is not echoed

    page = client.post(
        "/setup", data={**SETUP, "password_confirm": SETUP["password"]}, headers=headers
    )
    assert page.status_code == 400
    assert page.json()["error"]["code"] == "host_not_allowed"

    assert client.get("/api/auth/setup").json() == {"needs_setup": True}


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "[::1]:8000", "testserver"])
def test_loopback_names_and_configured_hosts_are_served(client: TestClient, host: str) -> None:
    response = client.get("/api/health", headers={"Host": host})
    assert response.status_code == 200, response.text


def test_an_allowed_host_with_a_foreign_origin_is_still_refused(client: TestClient) -> None:
    response = client.post(
        "/api/auth/setup",
        json=SETUP,
        headers={"Host": "localhost:8000", "Origin": f"http://{REBOUND}"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_setup_from_an_allowed_host_and_its_own_origin_works(client: TestClient) -> None:
    response = client.post(
        "/api/auth/setup",
        json=SETUP,
        headers={"Host": "localhost:8000", "Origin": "http://localhost:8000"},
    )
    assert response.status_code == 201, response.text


def test_public_url_host_and_allowed_hosts_setting_are_served(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(
        public_base_url="https://deploy.example.com", allowed_hosts="ops.internal, Alt.Example"
    )
    for host in ("deploy.example.com", "ops.internal:8000", "alt.example"):
        assert client.get("/api/health", headers={"Host": host}).status_code == 200, host
    other = client.get("/api/health", headers={"Host": "deploy.example.com.evil"})
    assert other.status_code == 400


def test_allowed_hosts_come_from_the_settings(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        host="10.1.2.3", public_base_url="https://Deploy.Example.com:8443", allowed_hosts="a.b"
    )
    assert allowed_hosts(settings) == {
        "localhost", "127.0.0.1", "::1", "10.1.2.3", "deploy.example.com", "a.b",
    }  # fmt: skip
    assert "0.0.0.0" not in allowed_hosts(make_settings(host="0.0.0.0"))
    assert make_settings().allowed_hosts == ["testserver"]  # the test fixtures' TestClient host


@pytest.mark.parametrize(
    ("header", "name"),
    [("Example.com:80", "example.com"), ("[::1]:8000", "::1"), ("127.0.0.1", "127.0.0.1"),
     ("", None), ("[bad", None)],
)  # fmt: skip
def test_host_names_are_parsed_from_host_headers(header: str, name: str | None) -> None:
    assert host_name(header) == name
