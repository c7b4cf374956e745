"""Push received → new release serving, for the trivial Python app of a private GitHub
repository, through the GitHub simulator and a real `nanoscale serve` child process (worker on,
proxy `none`: the project's own port forwards to its live release).

Each run commits in a clone and runs `git push` to the simulator's repository over HTTP (as
a CI App would: an installation token with `contents: write`); the simulator delivers the
`push` over HTTP from both the App's webhook and the repository hook, as GitHub does; the
server verifies and records it and requests a deployment; its worker fetches with an
installation token, builds, starts, health-checks and switches. The clock starts when the
simulator has the push and fires its webhooks and stops when the project's address answers
with the new commit. Median over BENCH_RUNS runs (default 10) and its breakdown, from the
deployment's step timestamps, the two step timings the deployment log records (Git
credentials, health check after start) and the simulator's delivery log.

    .venv/bin/python bench/bench_push_to_serving.py
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.served_bench_world import LinkedProject, ServedWorld, served_world
from nanoscale.deployments.models import Deployment, DeploymentLogChunk, ProjectLease
from nanoscale.github import models as m
from tests.fakes.github.delivery import DeliveryCallable
from tests.fakes.github.testkit import git_env
from tests.support.github_app import python_app_files

T = TypeVar("T")
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
LIMIT_SECONDS = 120
CREDENTIALS_RE = re.compile(r"Git credentials ready in (\d+) ms")
HEALTHY_RE = re.compile(r"release answered its health check (\d+) ms after its start")
PHASES = (
    ("git push", "the client's `git push` until GitHub has it (not in the total)"),
    ("push -> deployment requested", "webhook delivered, verified, recorded, requested"),
    ("  acknowledge", "the deploying delivery's HTTP round trip (overlaps the line above)"),
    ("queue wait", "requested -> claimed by the worker"),
    ("token", "Git credentials (installation token minted or from cache)"),
    ("fetch", "git fetch of the commit, checkout"),
    ("build", "install and build commands"),
    ("start", "process started -> health check answered"),
    ("switch", "proxy route switch, deployment recorded live"),
    ("live -> answering", "until the project's address served the commit (poll)"),
    ("push -> serving", "total"),
)


@dataclass
class Run:
    values: dict[str, float]  # seconds, by phase name


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


def _wait(what: str, check: Callable[[], T | None]) -> T:
    deadline = time.monotonic() + LIMIT_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.002)
    raise RuntimeError(f"timed out waiting for {what}")


def _serving(project: LinkedProject, sha: str) -> float:
    with httpx.Client(timeout=2) as client:

        def answered() -> float | None:
            try:
                body = client.get(f"http://127.0.0.1:{project.port}/").text
            except httpx.HTTPError:
                return None
            return time.time() if sha in body else None

        return _wait(f"{sha[:12]} serving", answered)


def _finished(w: ServedWorld, project: LinkedProject, sha: str) -> Deployment:
    """The deployment of `sha` once it finished and the worker let go of the project (the
    previous release retired), so the next run starts from a quiet server."""

    def done() -> Deployment | None:
        with Session(w.db, expire_on_commit=False) as db:
            found = db.scalar(
                select(Deployment).where(
                    Deployment.project_id == project.project_id, Deployment.commit_sha == sha
                )
            )
            held = db.get(ProjectLease, project.project_id)
        if found is None or found.finished_at is None or held is not None:
            return None
        return found

    return _wait(f"deployment of {sha[:12]} to finish", done)


def _log(w: ServedWorld, deployment_id: str) -> str:
    with w.db.connect() as db:
        chunks = db.execute(
            select(DeploymentLogChunk.text)
            .where(DeploymentLogChunk.deployment_id == deployment_id)
            .order_by(DeploymentLogChunk.id)
        ).scalars()
        return "".join(chunks)


def _ms_in(pattern: re.Pattern[str], text: str) -> float:
    match = pattern.search(text)
    if match is None:
        raise RuntimeError(f"deployment log lacks {pattern.pattern!r}:\n{text}")
    return int(match.group(1)) / 1000


def _acknowledge(w: ServedWorld, deployment_id: str) -> float:
    """The round trip of the delivery whose processing requested this deployment."""
    with Session(w.db) as db:
        records = db.scalars(select(m.GitHubWebhookDelivery)).all()
    deployed = [r for r in records if deployment_id in (r.deployment_ids or [])
                and r.outcome == "deployed"]  # fmt: skip
    assert deployed, "no delivery record names the deployment"
    record = deployed[0]
    sent = [d for d in w.sim.state.deliveries
            if d.guid == record.delivery_id and d.hook_id == record.hook_id]  # fmt: skip
    return sent[-1].duration


@dataclass
class Clone:
    """A developer's clone of the project's repository, pushing as a CI App would: with an
    installation token (`contents: write`) given to git through the environment."""

    path: Path
    env: dict[str, str]

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.path, env=self.env, capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"git {args[0]} failed: {done.stderr}")
        return done.stdout.strip()


def _clone(w: ServedWorld, project: LinkedProject, root: Path) -> Clone:
    ci = w.sim.add_app(w.alice, "ci-bot", permissions={"contents": "write", "metadata": "read"})
    token = w.sim.mint_installation_token(w.sim.install(ci, w.alice)).token
    env = {**git_env(w.served.base_url, token, root), "GIT_AUTHOR_NAME": "Alice",
           "GIT_AUTHOR_EMAIL": "alice@example.com", "GIT_COMMITTER_NAME": "Alice",
           "GIT_COMMITTER_EMAIL": "alice@example.com"}  # fmt: skip
    url = f"{w.served.base_url}/{project.repo.full_name}.git"
    root.mkdir()
    clone = Clone(root, env)
    clone.git("clone", "-q", url, str(root / "work"))
    clone.path = root / "work"
    return clone


def _one_run(
    w: ServedWorld, project: LinkedProject, clone: Clone, n: int, fired: list[float]
) -> Run:
    (clone.path / "version.txt").write_text(f"r{n}\n")
    clone.git("commit", "-q", "-am", f"Release r{n}")
    sha = clone.git("rev-parse", "HEAD")
    fired.clear()
    pushing = time.time()
    clone.git("push", "-q", "origin", "main")
    serving = _serving(project, sha)
    started = min(fired)  # GitHub has the push and fires its webhooks
    d = _finished(w, project, sha)
    assert d.state == "live", f"deployment {d.id} ended {d.state}: {d.error_message}"
    assert d.fetching_at and d.building_at and d.starting_at and d.finished_at
    text = _log(w, d.id)
    token, start = _ms_in(CREDENTIALS_RE, text), _ms_in(HEALTHY_RE, text)
    queued, fetching = _seconds(d.queued_at), _seconds(d.fetching_at)
    building, starting = _seconds(d.building_at), _seconds(d.starting_at)
    live = _seconds(d.finished_at)
    values = {
        "git push": started - pushing,
        "push -> deployment requested": queued - started,
        "  acknowledge": _acknowledge(w, d.id),
        "queue wait": fetching - queued,
        "token": token,
        "fetch": building - fetching - token,
        "build": starting - building,
        "start": start,
        "switch": live - starting - start,
        "live -> answering": serving - live,
        "push -> serving": serving - started,
    }
    return Run(values)


def main() -> None:
    settings: dict[str, Any] = {"worker_enabled": True, "health_check_timeout_seconds": 30,
                "drain_seconds": 0.2}  # fmt: skip
    with served_world(1, files=python_app_files(), deferred_deliveries=False, **settings) as w:
        project = w.projects[0]
        client = httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0))
        w.sim.deliverer.transport = _poster(client)
        with Session(w.db) as db:
            initial = db.scalar(select(Deployment.commit_sha))
        assert initial is not None
        # The creation's deployment, run by the server's worker: it mints the clone token.
        minted = _ms_in(CREDENTIALS_RE, _log(w, _finished(w, project, initial).id)) * 1000
        clone = _clone(w, project, w.server.root.parent / "developer")
        fired: list[float] = []
        w.sim.deliverer.listeners.append(lambda _delivery: fired.append(time.time()))
        try:
            runs = [_one_run(w, project, clone, n, fired) for n in range(RUNS)]
        except RuntimeError:
            _explain(w)
            raise
    print(f"push -> new release serving, trivial Python app, private repository, through the "
          f"GitHub simulator and `nanoscale serve` (SQLite, proxy none): median of {RUNS} runs; "
          f"host load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    for name, meaning in PHASES:
        values = [r.values[name] * 1000 for r in runs]
        print(f"  {name:<30} {statistics.median(values):8.1f} ms   "
              f"({min(values):.0f}..{max(values):.0f})  {meaning}")  # fmt: skip
    print(f"  token when minted (the creation's deployment, before the runs): {minted:.0f} ms; "
          f"the runs reuse the gateway's cached installation token")  # fmt: skip


def _poster(client: httpx.Client) -> DeliveryCallable:
    """Real HTTP, a new connection per delivery as GitHub makes, but one client: the
    simulator's default builds a client (and its TLS context) per delivery, which would bill
    the simulator's own set-up to the acknowledgement."""

    def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], str]:
        response = client.post(url, content=body, headers=headers)
        return response.status_code, dict(response.headers), response.text

    return post


def _explain(w: ServedWorld) -> None:
    """What the server and the simulator saw, for a run that did not finish."""
    with Session(w.db) as db:
        for d in db.scalars(select(Deployment).order_by(Deployment.queued_at)):
            print(f"deployment {d.commit_sha} {d.trigger} {d.state} {d.error_message or ''}")
    for sent in w.sim.state.deliveries:
        print(f"delivery {sent.event} {sent.target_type} {sent.status_code} {sent.status}")
    print(w.server.output()[-3000:])


if __name__ == "__main__":
    main()
