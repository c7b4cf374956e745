"""The `none` proxy (development): apps on their own ports, static sites on a local server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from nanoscale.engine.proxy import Route, make_proxy
from nanoscale.engine.proxy.none import NoProxy
from nanoscale.settings import Settings


def test_none_proxy_points_at_the_release_port(make_settings: Callable[..., Settings]) -> None:
    proxy = make_proxy(make_settings(proxy="none"))
    assert isinstance(proxy, NoProxy)
    route = Route("blog", ("blog.localhost",), 8123, None)
    proxy.apply(route)
    assert proxy.public_url(route) == "http://127.0.0.1:8123"
    assert proxy.healthy() and proxy.ensure_config() is False
    proxy.close()


def test_none_proxy_serves_static_sites_until_removed(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hello static")
    proxy = NoProxy()
    route = Route("site", ("site.localhost",), None, tmp_path)
    try:
        proxy.apply(route)
        url = proxy.public_url(route)
        assert url is not None
        assert httpx.get(url, timeout=5).text == "hello static"
        proxy.remove("site")
        try:
            httpx.get(url, timeout=2)
            reachable = True
        except httpx.TransportError:
            reachable = False
        assert not reachable
    finally:
        proxy.close()


def test_none_proxy_has_no_url_for_a_static_site_it_does_not_serve() -> None:
    proxy = NoProxy()  # e.g. the site is served by the orchestrator's other process
    assert proxy.public_url(Route("site", ("site.localhost",), None, None)) is None
