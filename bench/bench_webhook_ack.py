"""Webhook acknowledgement latency at a sustained 100 deliveries/s for 30 s against a real
`nanoscale serve` child process on SQLite (target: p99 < 50 ms, 0 lost, each push requested
exactly once).

The mix (bench/webhook_mix.py) is signed as GitHub signs it, with the App's webhook secret and
each repository hook's own: distinct pushes to linked projects, each delivered by both hooks,
redeliveries, replayed bodies, pings and events that must not deploy. Sending is open-loop:
every delivery leaves at its scheduled time whatever earlier ones are doing, and latency counts
from that scheduled time (a late send counts against the server, no coordinated omission). The
deploy worker is off, so builds do not compete for the CPU; afterwards the server's database
must hold exactly one deployment per distinct push.

    .venv/bin/python bench/bench_webhook_ack.py          # BENCH_SECONDS=5 for a quick check
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import func, select

from bench.served_bench_world import ServedWorld, served_world
from bench.webhook_mix import Outgoing, mix, templates
from nanoscale.deployments.models import Deployment
from nanoscale.github import models as m
from tests.support.github_app import python_app_files

RATE = 100  # deliveries per second
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
PROJECTS = 20
TIMEOUT = 10.0  # GitHub's wait for an answer


@dataclass
class Result:
    item: Outgoing
    scheduled: float
    sent: float
    latency: float | None  # from the scheduled time; None: no answer
    status: int
    outcome: str


async def _deliver(client: httpx.AsyncClient, url: str, item: Outgoing, at: float) -> Result:
    sent = time.perf_counter()
    try:
        response = await client.post(url, content=item.body, headers=item.headers)
    except httpx.HTTPError as exc:
        return Result(item, at, sent, None, 0, type(exc).__name__)
    latency = time.perf_counter() - at
    try:
        outcome = str(response.json().get("outcome"))
    except ValueError:
        outcome = "not json"
    return Result(item, at, sent, latency, response.status_code, outcome)


async def _run(url: str, items: list[Outgoing]) -> list[Result]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as client:
        start = time.perf_counter() + 0.5
        tasks = []
        for i, item in enumerate(items):
            at = start + i / RATE
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_deliver(client, url, item, at)))
        return list(await asyncio.gather(*tasks))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _check_database(w: ServedWorld, items: list[Outgoing]) -> tuple[int, int, int, int]:
    """(pushes, pushes with more than one deployment, pushes with none, delivery records
    missing): what the server recorded, read from its database."""
    pushes = {item.push for item in items if item.push and item.kind in ("push", "push-copy")}
    with w.db.connect() as db:
        rows = db.execute(
            select(Deployment.project_id, Deployment.commit_sha, func.count())
            .where(Deployment.trigger == "push")
            .group_by(Deployment.project_id, Deployment.commit_sha)
        ).all()
        recorded = set(db.execute(select(m.GitHubWebhookDelivery.delivery_id,
                                         m.GitHubWebhookDelivery.hook_id)).all())  # fmt: skip
    counts = {(project, sha): n for project, sha, n in rows}
    duplicated = sum(1 for key in pushes if counts.get(key, 0) > 1)
    missing = sum(1 for key in pushes if counts.get(key, 0) == 0)
    stray = sum(n for key, n in counts.items() if key not in pushes)  # deployed, never pushed
    unrecorded = len({(i.guid, i.hook_id) for i in items} - recorded)
    return len(pushes), duplicated + stray, missing, unrecorded


def main() -> None:
    count = int(RATE * SECONDS)
    with served_world(PROJECTS, files=python_app_files(), deferred_deliveries=True) as w:
        made = {p.project_id: templates(w.sim, p) for p in w.projects}
        items = list(mix(w.projects, made, count))
        results = asyncio.run(_run(w.webhook_url, items))
        pushes, duplicated, missing, unrecorded = _check_database(w, items)
    answered = [r for r in results if r.latency is not None and r.status < 500]
    lost = len(results) - len(answered)
    latencies = [r.latency for r in answered if r.latency is not None]
    lag = [r.sent - r.scheduled for r in results]
    ms = [v * 1000 for v in latencies]
    print(f"webhook deliveries to `nanoscale serve` (SQLite, worker off): {len(results)} at "
          f"{RATE}/s for {SECONDS:g} s, open loop, {PROJECTS} linked projects; host load "
          f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"  acknowledgement latency from scheduled send: p50 {_percentile(ms, 50):.1f} ms, "
          f"p90 {_percentile(ms, 90):.1f} ms, p99 {_percentile(ms, 99):.1f} ms, "
          f"max {max(ms):.1f} ms (target p99 < 50 ms)")  # fmt: skip
    print(f"  mean {statistics.fmean(ms):.1f} ms; client send lag p99 "
          f"{_percentile(lag, 99) * 1000:.1f} ms (part of the latency above)")  # fmt: skip
    print(f"  count {len(results)}, lost {lost} (no answer or 5xx), "
          f"delivery records missing {unrecorded}")  # fmt: skip
    print(f"  distinct pushes {pushes}: duplicates-deployed {duplicated}, "
          f"never requested {missing}")  # fmt: skip
    by_kind: dict[str, Counter[str]] = {}
    for r in results:
        by_kind.setdefault(r.item.kind, Counter())[f"{r.status} {r.outcome}"] += 1
    for kind, answers in sorted(by_kind.items()):
        print(f"  {kind:<11} {json.dumps(dict(sorted(answers.items())))}")


if __name__ == "__main__":
    main()
