"""The real-Caddy harness itself: starts, answers, restarts on the same ports, stops."""

from __future__ import annotations

import httpx
import pytest

from tests.support.caddy import CaddyInstance, running_caddy

pytestmark = pytest.mark.caddy


def test_harness_caddy_answers_admin_api_and_restarts_on_same_ports(caddy: CaddyInstance) -> None:
    assert caddy.config()["admin"]["listen"] == f"127.0.0.1:{caddy.admin_port}"
    port = caddy.admin_port
    caddy.restart()
    assert caddy.running
    assert caddy.admin_port == port
    assert httpx.get(f"{caddy.admin_url}/config/", timeout=5).status_code == 200


def test_harness_stops_caddy_when_context_exits() -> None:
    with running_caddy() as instance:
        admin = instance.admin_url
    assert not instance.running
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{admin}/config/", timeout=1)
