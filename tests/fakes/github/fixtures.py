"""pytest plugin: list "tests.fakes.github.fixtures" in a conftest's `pytest_plugins`.

Fixtures:
  github_spec        SpecRecorder; fixtures below validate through it and assert it clean
  github_sim         GitHubSimulator, in-process (use `.app` with httpx.ASGITransport)
  github_served      ServedSimulator: the same simulator on a loopback port (uvicorn thread)
  github_web         httpx.Client aimed at the served simulator (no redirects followed)
  webhook_receiver   WebhookReceiver on a loopback port
  github_world       testkit.World: alice, bob, org acme, alice/app (private), alice/site
                     (public), the "nanoscale" App installed on alice (set .app.webhook_url)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .receiver import WebhookReceiver
from .recording import ALL_RESULTS, SpecRecorder, summarize
from .simulator import GitHubSimulator, ServedSimulator
from .spec import ValidationResult
from .testkit import World, small_world


@pytest.fixture
def github_spec() -> Iterator[SpecRecorder]:
    recorder = SpecRecorder()
    yield recorder
    recorder.assert_clean()


@pytest.fixture
def github_sim(tmp_path: Path, github_spec: SpecRecorder) -> Iterator[GitHubSimulator]:
    sim = GitHubSimulator(root=tmp_path / "github", recorder=github_spec)
    yield sim
    sim.close()


@pytest.fixture
def github_served(github_sim: GitHubSimulator) -> Iterator[ServedSimulator]:
    served = github_sim.serve()
    yield served
    served.stop()


@pytest.fixture
def github_web(github_served: ServedSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=github_served.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def github_world(github_sim: GitHubSimulator) -> World:
    return small_world(github_sim)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist a worker hands its results to the controller, which prints the summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["github_spec_results"] = [(r.kind, r.key, r.errors) for r in ALL_RESULTS]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    output = getattr(node, "workeroutput", None) or {}
    for kind, key, errors in output.get("github_spec_results", []):
        ALL_RESULTS.append(ValidationResult(kind=kind, key=key, errors=list(errors)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ALL_RESULTS:
        return
    counts = summarize(ALL_RESULTS)
    terminalreporter.write_line(
        "GitHub spec validation: {checks} checks, {failures} failures; {rest_operations} REST "
        "operations, {request_operations} request operations, {webhook_types} webhook payload "
        "types validated".format(**counts)
    )
    if terminalreporter.config.get_verbosity() > 0:
        for kind in ("response", "webhook"):
            keys = sorted({r.key for r in ALL_RESULTS if r.kind == kind and r.ok})
            terminalreporter.write_line(f"  {kind}: {', '.join(keys)}")
