"""Layering (DESIGN.md): a layer imports the layers to its right only.

    api, dashboard, cli, github.webhooks  ->  services (accounts, projects, deployments,
    github)  ->  db, engine, github client, crypto

Siblings at the edge (api, dashboard) never import each other; the engine knows nothing of
records, HTTP or GitHub; webhook handlers reach deployments only through its service;
among the services, projects build on accounts and deployments on both, never back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nanoscale

SRC = Path(nanoscale.__file__).parent
EDGES = ("api", "dashboard", "cli", "github.webhooks")


def imported_modules(package: str) -> set[str]:
    """Every module `package` (dotted, under nanoscale) imports; empty if it does not exist."""
    found: set[str] = set()
    for path in (SRC / package.replace(".", "/")).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def offenders(package: str, forbidden: str) -> set[str]:
    target = f"nanoscale.{forbidden}"
    return {m for m in imported_modules(package) if m == target or m.startswith(f"{target}.")}


@pytest.mark.parametrize(("package", "sibling"), [("dashboard", "api"), ("api", "dashboard")])
def test_web_layers_do_not_import_each_other(package: str, sibling: str) -> None:
    assert offenders(package, sibling) == set()


@pytest.mark.parametrize(
    "forbidden", ["api", "dashboard", "cli", "github", "accounts", "projects", "deployments"]
)
def test_the_engine_knows_nothing_of_records_http_or_github(forbidden: str) -> None:
    assert offenders("engine", forbidden) == set()


@pytest.mark.parametrize("forbidden", ["github", *EDGES])
def test_deployments_never_import_github_or_the_edges(forbidden: str) -> None:
    assert offenders("deployments", forbidden) == set()


@pytest.mark.parametrize("forbidden", ["engine", "api", "dashboard", "cli"])
def test_webhook_handlers_never_reach_the_engine(forbidden: str) -> None:
    assert offenders("github.webhooks", forbidden) == set()


def test_webhook_handlers_use_only_the_deployments_service() -> None:
    used = {m for m in imported_modules("github.webhooks") if m.startswith("nanoscale.deployments")}
    allowed = ("nanoscale.deployments.service", "nanoscale.deployments.states")
    assert {m for m in used if not m.startswith(allowed) and m != "nanoscale.deployments"} == set()


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("accounts", "projects"),
        ("accounts", "deployments"),
        ("projects", "deployments"),
        ("accounts", "github"),
        ("projects", "github"),
    ],
)
def test_services_build_on_each_other_in_one_direction(package: str, forbidden: str) -> None:
    assert offenders(package, forbidden) == set()


@pytest.mark.parametrize("package", ["accounts", "projects", "deployments", "github", "db"])
@pytest.mark.parametrize("edge", EDGES)
def test_services_never_import_the_edges(package: str, edge: str) -> None:
    if package == "github" and edge == "github.webhooks":
        pytest.skip("the github package holds its webhooks")
    assert offenders(package, edge) == set()


def test_api_deps_still_offers_the_shared_dependencies() -> None:
    from nanoscale import web_deps
    from nanoscale.api import deps

    for name in ("get_context", "get_db", "DbSession", "Context", "client_ip"):
        assert getattr(deps, name) is getattr(web_deps, name)
