"""The attack: a tenant process (any uid but the orchestrator's) tries to take over Caddy
through its admin API — on every TCP port Caddy listens on, on the default 2019, and on the
admin socket — to re-route another project's host. It must be refused everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nanoscale.engine.proxy import Route, make_proxy
from nanoscale.engine.proxy.caddy import CaddyProxy
from nanoscale.engine.proxy.caddy_config import route_id
from nanoscale.engine.runtime.process import ProcessRuntime
from nanoscale.settings import Settings
from tests.support.caddy import CaddyInstance
from tests.support.caddy_releases import app_spec
from tests.support.http_wait import wait_for_http

pytestmark = [
    pytest.mark.caddy,
    pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root"),
]

NOBODY = 65534

ATTACK = r"""
import json, socket, sys, urllib.request
ports, sock_path, rid = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
evil = {"@id": rid, "handle": [{"handler": "static_response", "body": "pwned"}]}
results = {}
def call(port, method, path, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, method=method,
        headers={"Content-Type": "application/json", "Host": f"127.0.0.1:{port}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read()
for port in ports:
    try:
        config = json.loads(call(port, "GET", "/config/") or b"null")
        if not isinstance(config, dict) or "apps" not in config:
            raise ValueError("not Caddy's admin API")  # e.g. the HTTP listener's empty 200
        call(port, "PATCH", f"/id/{rid}", json.dumps(evil).encode())
        results[str(port)] = "rerouted"
    except Exception as exc:
        results[str(port)] = type(exc).__name__
try:
    socket.socket(socket.AF_UNIX).connect(sock_path)
    results["socket"] = "connected"
except OSError as exc:
    results["socket"] = type(exc).__name__
print(json.dumps(results))
"""


def listening_tcp_ports(pid: int) -> set[int]:
    """Every TCP port the process listens on (from its socket inodes and /proc/net/tcp*)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.fixture
def proxy(caddy: CaddyInstance, make_settings: Callable[..., Settings]) -> Iterator[CaddyProxy]:
    built = make_proxy(make_settings(**caddy.settings_overrides()))
    assert isinstance(built, CaddyProxy)
    yield built
    built.close()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ProcessRuntime]:
    rt = ProcessRuntime(tmp_path / "state")
    yield rt
    rt.stop_all(grace_seconds=2)
    rt.close()


def test_a_tenant_uid_cannot_reach_the_admin_api_to_reroute_a_project(
    caddy: CaddyInstance, proxy: CaddyProxy, runtime: ProcessRuntime, tmp_path: Path
) -> None:
    project_id = uuid.uuid4().hex  # never matches a route in anybody else's Caddy
    spec = app_spec(tmp_path, name="victim", project=project_id)
    runtime.start(spec)
    assert wait_for_http(spec.port, timeout=15)
    proxy.apply(Route(project_id, ("victim.localhost",), spec.port, None))
    assert caddy.pid is not None
    caddy_ports = listening_tcp_ports(caddy.pid)
    assert caddy.http_port in caddy_ports  # the scan sees Caddy's sockets

    attacker = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
         "/usr/bin/python3", "-c", ATTACK,
         json.dumps(sorted(caddy_ports | {2019})), str(caddy.admin_socket), route_id(project_id)],
        capture_output=True, text=True, timeout=60, check=True, cwd="/",
    )  # fmt: skip
    results = json.loads(attacker.stdout)

    assert results["socket"] == "PermissionError"
    assert "rerouted" not in results.values(), results
    assert caddy.get("victim.localhost").text.startswith("victim ")
    assert proxy.ensure_config() is False  # nothing changed behind NanoScale's back
