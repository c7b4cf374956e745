"""The Caddy JSON NanoScale generates: routes, matchers, listen addresses, automatic HTTPS."""

from __future__ import annotations

from pathlib import Path

import pytest

from nanoscale.engine.proxy import Route, project_hosts
from nanoscale.engine.proxy.caddy import CaddyProxy
from nanoscale.engine.proxy.caddy_config import (
    SERVER_ID,
    Listen,
    build_http_app,
    build_route,
    build_server,
    config_matches,
    route_id,
    whole_config,
)

LOCAL = Listen(host="", http_port=80, https_port=443)
blog = Route("p1", ("blog.localhost",), 8001, None)
public = Route("p2", ("shop.example.com", "shop.localhost"), 8002, None)


def test_process_route_proxies_to_loopback_port_under_a_stable_id() -> None:
    route = build_route(blog, LOCAL)
    assert route["@id"] == route_id("p1")
    assert route["match"] == [{"host": ["blog.localhost"]}]
    assert route["handle"] == [
        {"handler": "reverse_proxy", "upstreams": [{"dial": "127.0.0.1:8001"}]}
    ]
    assert route["terminal"] is True


def test_static_route_serves_files_from_the_release_directory() -> None:
    route = build_route(Route("s", ("site.localhost",), None, Path("/srv/site")), LOCAL)
    assert route["handle"] == [{"handler": "file_server", "root": "/srv/site"}]


def test_route_without_port_or_directory_is_rejected() -> None:
    with pytest.raises(ValueError, match="neither"):
        build_route(Route("x", ("x.localhost",), None, None), LOCAL)


def test_loopback_only_server_listens_on_http_and_disables_automatic_https() -> None:
    server = build_server([blog], LOCAL)
    assert server["@id"] == SERVER_ID
    assert server["listen"] == [":80"]
    assert server["automatic_https"] == {"disable": True}


def test_public_domain_turns_on_https_listener_and_skips_loopback_hosts() -> None:
    server = build_server([blog, public], LOCAL)
    assert server["listen"] == [":80", ":443"]
    assert server["automatic_https"] == {"skip": ["blog.localhost", "shop.localhost"]}
    shop = server["routes"][1]
    # plain-HTTP requests for the public host fall through to Caddy's HTTPS redirect
    assert shop["match"] == [
        {"host": ["shop.localhost"]},
        {"host": ["shop.example.com"], "protocol": "https"},
    ]


def test_https_port_zero_serves_public_domains_over_http_only() -> None:
    listen = Listen(host="127.0.0.1", http_port=8080, https_port=0)
    app = build_http_app([public], listen)
    server = app["servers"]["nanoscale"]
    assert server["listen"] == ["127.0.0.1:8080"]
    assert server["routes"][0]["match"] == [{"host": ["shop.example.com", "shop.localhost"]}]
    assert app["http_port"] == 8080 and "https_port" not in app


def test_project_hosts_put_the_base_domain_name_first_without_duplicates() -> None:
    hosts = project_hosts("Blog", "apps.example.com", ("WWW.blog.io", "blog.apps.example.com"))
    assert hosts == ("blog.apps.example.com", "www.blog.io")


def test_public_url_is_https_for_public_hosts_and_names_non_default_ports() -> None:
    proxy = CaddyProxy(admin_socket=Path("/nonexistent/admin.sock"), listen=LOCAL)
    try:
        assert proxy.public_url(public) == "https://shop.example.com"
        assert proxy.public_url(blog) == "http://blog.localhost"
        odd = CaddyProxy(admin_socket=Path("/nonexistent/admin.sock"), listen=Listen("", 8080, 0))
        assert odd.public_url(public) == "http://shop.example.com:8080"
        odd.close()
    finally:
        proxy.close()


ADMIN = "unix//srv/nanoscale/caddy/admin.sock"


def test_whole_config_keeps_only_what_routes_nothing() -> None:
    foreign = {
        "admin": {
            "listen": "127.0.0.1:2019",
            "remote": {"listen": ":2021"},
            "config": {"persist": False, "load": {"module": "http", "url": "http://evil/"}},
        },
        "storage": {"module": "file_system", "root": "/var/lib/caddy"},
        "apps": {
            "http": {"servers": {"srv0": {"listen": [":80"], "routes": []}}},
            "layer4": {"servers": {}},
            "tls": {"automation": {"policies": []}},
        },
    }
    repaired = whole_config(foreign, [blog], LOCAL, ADMIN)
    assert repaired["admin"] == {"listen": ADMIN, "config": {"persist": False}}
    assert repaired["storage"] == foreign["storage"]
    assert set(repaired["apps"]) == {"http", "tls"}
    assert repaired["apps"]["http"] == build_http_app([blog], LOCAL)
    assert not config_matches(foreign, [blog], LOCAL, ADMIN)
    assert config_matches(repaired, [blog], LOCAL, ADMIN)


def test_a_file_server_route_added_to_nanoscales_server_is_a_mismatch() -> None:
    config = whole_config({}, [blog], LOCAL, ADMIN)
    server = config["apps"]["http"]["servers"]["nanoscale"]
    server["routes"].append({"handle": [{"handler": "file_server", "root": "/"}]})
    assert not config_matches(config, [blog], LOCAL, ADMIN)
