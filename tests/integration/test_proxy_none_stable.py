"""Where Caddy cannot run, `serve` says so and each project keeps one address anyway: its own
loopback port forwards to the live release, across switches, under load, without a failed
request. A port that cannot be bound falls back to the release's port (which answers)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from nanoscale.cli.proxy_startup import start_proxy
from nanoscale.engine.proxy import Route, make_proxy
from nanoscale.engine.runtime.process import ProcessRuntime
from nanoscale.settings import Settings
from tests.support.caddy_load import LoadLoop
from tests.support.caddy_releases import app_spec
from tests.support.deploy import traversable_dir
from tests.support.http_wait import wait_for_http
from tests.support.ports import free_port


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ProcessRuntime]:
    rt = ProcessRuntime(tmp_path / "state")
    yield rt
    rt.stop_all(grace_seconds=2)
    rt.close()


@pytest.fixture
def start_release(runtime: ProcessRuntime, tmp_path: Path) -> Callable[[str], int]:
    def _start(name: str) -> int:
        spec = app_spec(tmp_path, name=name, project="blog")
        runtime.start(spec)
        assert wait_for_http(spec.port, timeout=15)
        return spec.port

    return _start


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_when_caddy_cannot_run_projects_keep_their_own_port_across_switches(
    make_settings: Callable[..., Settings], start_release: Callable[[str], int]
) -> None:
    with (
        traversable_dir("nanoscale-fallback-") as root,
        socket.create_server(("127.0.0.1", 0)) as taken,
    ):
        busy = taken.getsockname()[1]
        wanted = make_settings(proxy="caddy", proxy_http_port=busy, data_dir=root / "var")
        settings, line = start_proxy(wanted)
    assert settings.proxy == "none"
    assert f"port {busy} is in use" in line and "WITHOUT Caddy" in line

    proxy = make_proxy(settings)
    stable = free_port()
    names = ["v1", "v2", "v3"]
    try:
        route = Route("blog", ("blog.localhost",), start_release(names[0]), None, stable)
        proxy.apply(route)
        url = proxy.public_url(route)
        assert url == f"http://127.0.0.1:{stable}"
        with LoadLoop(stable, "blog.localhost", clients=2, keep_alive=False) as load:
            assert wait_until(lambda: load.seen()[names[0]] > 10)
            for name in names[1:]:
                route = Route("blog", ("blog.localhost",), start_release(name), None, stable)
                proxy.apply(route)
                assert proxy.public_url(route) == url
                assert wait_until(lambda name=name: load.seen()[name] > 10)
            result = load.stop()
    finally:
        proxy.close()
    assert result.failures == [] and result.retried == 0
    assert set(result.answered_by) == set(names)


def test_a_stable_port_in_use_falls_back_to_the_release_port_that_answers(
    make_settings: Callable[..., Settings], start_release: Callable[[str], int]
) -> None:
    proxy = make_proxy(make_settings(proxy="none"))
    try:
        with socket.create_server(("127.0.0.1", 0)) as taken:
            release = start_release("v1")
            route = Route("blog", ("blog.localhost",), release, None, taken.getsockname()[1])
            proxy.apply(route)
            url = proxy.public_url(route)
        assert url == f"http://127.0.0.1:{release}"
        assert httpx.get(url, timeout=5).text.startswith("v1 ")
    finally:
        proxy.close()
