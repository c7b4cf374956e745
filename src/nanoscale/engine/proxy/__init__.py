"""Reverse proxy backends: `caddy` (admin API, atomic route switches) and `none` (development)."""

from nanoscale.engine.proxy.base import Proxy, Route, project_hosts
from nanoscale.engine.proxy.factory import make_proxy

__all__ = ["Proxy", "Route", "make_proxy", "project_hosts"]
