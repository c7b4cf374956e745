"""CaddyProxy against a real Caddy: host routing, custom domains, static sites, removal,
restoring routes after a Caddy restart, and the whole config repaired when edited behind
NanoScale's back."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from nanoscale.engine.proxy import Route, make_proxy
from nanoscale.engine.proxy.caddy import CaddyProxy
from nanoscale.engine.proxy.caddy_config import SERVER_ID, route_id
from nanoscale.engine.runtime.process import ProcessRuntime
from nanoscale.errors import ConfigError, PlatformError
from nanoscale.settings import Settings
from tests.support.caddy import CaddyInstance
from tests.support.caddy_releases import app_spec
from tests.support.http_wait import wait_for_http
from tests.support.ports import free_port

pytestmark = pytest.mark.caddy


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


@pytest.fixture
def start_app(runtime: ProcessRuntime, tmp_path: Path) -> Callable[[str], int]:
    def _start(name: str) -> int:
        spec = app_spec(tmp_path, name=name, project=name)
        runtime.start(spec)
        assert wait_for_http(spec.port, timeout=15)
        return spec.port

    return _start


def body(caddy: CaddyInstance, host: str) -> str:
    response = caddy.get(host)
    return f"{response.status_code} {response.text}"


def test_each_project_is_served_under_its_own_host_name(
    caddy: CaddyInstance, proxy: CaddyProxy, start_app: Callable[[str], int]
) -> None:
    proxy.apply(Route("blog", ("blog.localhost",), start_app("blog"), None))
    proxy.apply(Route("shop", ("shop.localhost",), start_app("shop"), None))
    assert body(caddy, "blog.localhost").startswith("200 blog ")
    assert body(caddy, "shop.localhost").startswith("200 shop ")
    assert "blog" not in body(caddy, "other.localhost")
    assert "shop" not in body(caddy, "other.localhost")


def test_routes_applied_concurrently_are_all_installed(
    caddy: CaddyInstance, proxy: CaddyProxy, start_app: Callable[[str], int]
) -> None:
    ports = {f"p{n}": start_app(f"p{n}") for n in range(4)}
    threads = [
        threading.Thread(
            target=proxy.apply, args=(Route(name, (f"{name}.localhost",), port, None),)
        )
        for name, port in ports.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in ports:
        assert body(caddy, f"{name}.localhost").startswith(f"200 {name} ")


def test_custom_domains_reach_the_project_too(
    caddy: CaddyInstance, proxy: CaddyProxy, start_app: Callable[[str], int]
) -> None:
    port = start_app("blog")
    proxy.apply(Route("blog", ("blog.localhost", "www.Blog-Example.com"), port, None))
    assert body(caddy, "www.blog-example.com").startswith("200 blog ")
    assert body(caddy, "blog.localhost").startswith("200 blog ")


def test_static_site_is_served_by_caddy_from_its_directory(
    caddy: CaddyInstance, proxy: CaddyProxy, tmp_path: Path
) -> None:
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "index.html").write_text("<h1>static home</h1>")
    (root / "docs" / "page.html").write_text("a page")
    proxy.apply(Route("site", ("site.localhost",), None, root))
    assert caddy.get("site.localhost").text == "<h1>static home</h1>"
    assert caddy.get("site.localhost", "/docs/page.html").text == "a page"
    assert caddy.get("site.localhost", "/missing.html").status_code == 404


def test_removed_route_no_longer_serves_and_others_stay(
    caddy: CaddyInstance, proxy: CaddyProxy, start_app: Callable[[str], int]
) -> None:
    proxy.apply(Route("blog", ("blog.localhost",), start_app("blog"), None))
    proxy.apply(Route("shop", ("shop.localhost",), start_app("shop"), None))
    proxy.remove("blog")
    assert "blog" not in body(caddy, "blog.localhost")
    assert body(caddy, "shop.localhost").startswith("200 shop ")
    proxy.remove("blog")  # removing twice is harmless


def test_caddy_restart_loses_no_routes_after_ensure_config(
    caddy: CaddyInstance, proxy: CaddyProxy, start_app: Callable[[str], int], tmp_path: Path
) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("static")
    proxy.apply(Route("blog", ("blog.localhost",), start_app("blog"), None))
    proxy.apply(Route("site", ("site.localhost",), None, tmp_path / "site"))
    assert proxy.ensure_config() is False  # nothing missing, nothing changed

    caddy.restart()
    with pytest.raises(httpx.TransportError):
        caddy.get("blog.localhost")  # NanoScale's server is gone with the restart
    assert proxy.ensure_config() is True
    assert body(caddy, "blog.localhost").startswith("200 blog ")
    assert caddy.get("site.localhost").text == "static"


def test_ensure_config_repairs_a_route_changed_behind_its_back(
    caddy: CaddyInstance, proxy: CaddyProxy, start_app: Callable[[str], int]
) -> None:
    proxy.apply(Route("blog", ("blog.localhost",), start_app("blog"), None))
    proxy.apply(Route("shop", ("shop.localhost",), start_app("shop"), None))
    with caddy.admin() as admin:
        admin.request("DELETE", f"/id/{route_id('blog')}").raise_for_status()
    assert "blog" not in body(caddy, "blog.localhost")
    assert proxy.ensure_config() is True
    assert body(caddy, "blog.localhost").startswith("200 blog ")
    assert body(caddy, "shop.localhost").startswith("200 shop ")
    assert proxy.ensure_config() is False


def test_restore_rebuilds_exactly_the_given_routes(
    caddy: CaddyInstance, proxy: CaddyProxy, start_app: Callable[[str], int]
) -> None:
    proxy.apply(Route("stale", ("stale.localhost",), start_app("stale"), None))
    proxy.restore([Route("blog", ("blog.localhost",), start_app("blog"), None)])
    assert body(caddy, "blog.localhost").startswith("200 blog ")
    assert "stale" not in body(caddy, "stale.localhost")


def test_foreign_servers_and_a_file_server_at_root_are_removed(
    caddy: CaddyInstance, proxy: CaddyProxy, start_app: Callable[[str], int], tmp_path: Path
) -> None:
    proxy.apply(Route("blog", ("blog.localhost",), start_app("blog"), None))
    (tmp_path / "secret.txt").write_text("host file")
    file_server = {"handle": [{"handler": "file_server", "root": str(tmp_path)}]}
    with caddy.admin() as admin:
        admin.request("POST", f"/id/{SERVER_ID}/routes", file_server).raise_for_status()
        other = {"listen": [f"127.0.0.1:{free_port()}"], "routes": [file_server]}
        admin.request("POST", "/config/apps/http/servers/other", other).raise_for_status()
    assert caddy.get("anything.localhost", "/secret.txt").text == "host file"
    assert proxy.ensure_config() is True
    assert set(caddy.config()["apps"]["http"]["servers"]) == {"nanoscale"}
    assert caddy.get("anything.localhost", "/secret.txt").text == ""
    assert body(caddy, "blog.localhost").startswith("200 blog ")
    assert proxy.ensure_config() is False


def test_health_follows_caddy_and_failures_name_the_proxy(
    caddy: CaddyInstance, proxy: CaddyProxy
) -> None:
    assert proxy.healthy()
    caddy.stop()
    assert not proxy.healthy()
    with pytest.raises(PlatformError) as failure:
        proxy.apply(Route("blog", ("blog.localhost",), 1234, None))
    assert failure.value.code == "proxy_unreachable"


def test_public_url_uses_the_primary_host_and_listen_port(
    caddy: CaddyInstance, proxy: CaddyProxy
) -> None:
    route = Route("blog", ("blog.localhost", "blog.example.com"), 1234, None)
    assert proxy.public_url(route) == f"http://blog.localhost:{caddy.http_port}"


@pytest.mark.parametrize("address", ["http://10.0.0.5:2019", "http://127.0.0.1:2019", "unix/x"])
def test_admin_api_must_be_a_unix_socket(
    make_settings: Callable[..., Settings], address: str
) -> None:
    with pytest.raises(ConfigError) as error:
        make_settings(proxy="caddy", caddy_admin=address)
    assert "NANOSCALE_CADDY_ADMIN" in error.value.message
