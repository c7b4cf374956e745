"""Route switches between real releases under continuous HTTP load through a real Caddy
fail no request: start the new release, wait for health, switch, drain, stop the old one.

Both modes (a fresh connection per request, and keep-alive as browsers) allow one resend of
a GET whose connection closed before any response byte, at most one per client and config
change, and report how many they used; any other error is a failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nanoscale.engine.proxy import Route, make_proxy
from nanoscale.engine.runtime.process import ProcessRuntime
from nanoscale.settings import Settings
from tests.support.caddy import CaddyInstance
from tests.support.caddy_load import LoadLoop
from tests.support.caddy_releases import app_spec
from tests.support.http_wait import wait_for_http

pytestmark = pytest.mark.caddy
DRAIN_SECONDS = 0.3


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("keep_alive", [False, True], ids=["fresh-connections", "keep-alive"])
def test_switching_releases_under_load_fails_no_request(
    caddy: CaddyInstance,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    keep_alive: bool,
    record_property: Callable[[str, object], None],
) -> None:
    proxy = make_proxy(make_settings(**caddy.settings_overrides()))
    runtime = ProcessRuntime(tmp_path / "state")
    names = ["v1", "v2", "v3", "v4"]
    try:
        spec = app_spec(tmp_path, name=names[0], project="blog")
        handle = runtime.start(spec)
        assert wait_for_http(spec.port, timeout=15)
        proxy.apply(Route("blog", ("blog.localhost",), spec.port, None))
        with LoadLoop(caddy.http_port, "blog.localhost", clients=2, keep_alive=keep_alive) as load:
            assert wait_until(lambda: load.seen()[names[0]] > 20)
            for name in names[1:]:
                new_spec = app_spec(tmp_path, name=name, project="blog")
                new_handle = runtime.start(new_spec)
                assert wait_for_http(new_spec.port, timeout=15)
                proxy.apply(Route("blog", ("blog.localhost",), new_spec.port, None))
                assert wait_until(lambda name=name: load.seen()[name] > 20)
                time.sleep(DRAIN_SECONDS)  # requests already proxied to the old one finish
                runtime.stop(handle, grace_seconds=5)
                handle = new_handle
            result = load.stop()
    finally:
        runtime.stop_all(grace_seconds=2)
        runtime.close()
        proxy.close()
    switches = len(names) - 1
    record_property("requests", result.requests)
    record_property("retried", result.retried)
    print(f"requests {result.requests}, retried {result.retried}, switches {switches}")
    assert result.failures == []
    assert result.retried <= load.retry_bound(switches)
    assert set(result.answered_by) == set(names), result.answered_by
    assert result.requests == sum(result.answered_by.values())
