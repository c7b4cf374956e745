"""The real-Caddy harness itself: starts, answers on its admin socket, restarts on the same
ports, stops."""

from __future__ import annotations

import pytest

from nanoscale.engine.proxy.caddy_admin import CaddyAdmin, admin_listen_address
from tests.support.caddy import CaddyInstance, running_caddy

pytestmark = pytest.mark.caddy


def test_harness_caddy_answers_admin_api_and_restarts_on_same_ports(caddy: CaddyInstance) -> None:
    assert caddy.config()["admin"]["listen"] == admin_listen_address(caddy.admin_socket)
    port = caddy.http_port
    caddy.restart()
    assert caddy.running
    assert caddy.http_port == port
    with caddy.admin() as admin:
        assert admin.answers()


def test_harness_stops_caddy_when_context_exits() -> None:
    with running_caddy() as instance:
        socket_path = instance.admin_socket
    assert not instance.running
    with CaddyAdmin(socket_path, timeout=1) as admin:
        assert not admin.answers()
