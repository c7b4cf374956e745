"""Layering: the dashboard and the JSON API are siblings; neither imports the other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nanoscale

SRC = Path(nanoscale.__file__).parent


def imported_modules(package: str) -> set[str]:
    found: set[str] = set()
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(("package", "sibling"), [("dashboard", "api"), ("api", "dashboard")])
def test_web_layers_do_not_import_each_other(package: str, sibling: str) -> None:
    forbidden = f"nanoscale.{sibling}"
    offenders = {
        m for m in imported_modules(package) if m == forbidden or m.startswith(f"{forbidden}.")
    }
    assert offenders == set()


def test_api_deps_still_offers_the_shared_dependencies() -> None:
    from nanoscale import web_deps
    from nanoscale.api import deps

    for name in ("get_context", "get_db", "DbSession", "Context", "client_ip"):
        assert getattr(deps, name) is getattr(web_deps, name)
