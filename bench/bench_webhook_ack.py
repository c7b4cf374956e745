"""Webhook acknowledgement latency at a sustained 100 deliveries/s for 30 s against a real
`nanoscale serve` child process on SQLite (target: p99 < 50 ms, 0 lost, each push requested
exactly once).

The mix (bench/webhook_mix.py) is signed as GitHub signs it, with the App's webhook secret and
each repository hook's own: distinct pushes to linked projects, each delivered by both hooks,
redeliveries, replayed bodies, pings and events that must not deploy. Sending is open-loop:
every delivery is handed to a pool of 64 senders at its scheduled time whatever earlier ones
are doing, and latency counts from that scheduled time (a late send counts against the
server: no coordinated omission). The
deploy worker is off, so builds do not compete for the CPU; afterwards the server's database
must hold exactly one deployment per distinct push.

    .venv/bin/python bench/bench_webhook_ack.py          # BENCH_SECONDS=5 for a quick check
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bench.served_bench_world import ServedWorld, served_world
from bench.webhook_mix import Outgoing, mix, templates
from nanoscale.deployments.models import Deployment
from nanoscale.github import models as m
from tests.support.github_app import python_app_files

RATE = 100  # deliveries per second
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
WARMUP_SECONDS = 2.0  # a sustained stream meets a warm server: first connections, SQL caches
PROJECTS = 20
TIMEOUT = 10.0  # GitHub's wait for an answer
SERVER_TIME_RE = re.compile(
    r"duration_ms=([0-9.]+) method=POST path=/api/integrations/github/webhook"
)
WORKERS = 64  # concurrent deliveries at most (GitHub sends many at once)


@dataclass
class Result:
    item: Outgoing
    scheduled: float
    sent: float
    latency: float | None  # from the scheduled time; None: no answer
    status: int
    outcome: str


class _Sender:
    """A thread pool of keep-alive `http.client` connections (one per thread): far less CPU per
    request than an async httpx client, which matters on a 2-CPU host shared with the server."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "", parts.port or 80, parts.path
        self.local = threading.local()

    def deliver(self, item: Outgoing, at: float) -> Result:
        sent = time.perf_counter()
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            conn.request("POST", self.path, body=item.body, headers=item.headers)
            response = conn.getresponse()
            body = response.read()
        except (OSError, HTTPException) as exc:
            conn.close()
            self.local.conn = None
            return Result(item, at, sent, None, 0, type(exc).__name__)
        latency = time.perf_counter() - at
        try:
            outcome = str(json.loads(body).get("outcome"))
        except ValueError:
            outcome = "not json"
        return Result(item, at, sent, latency, response.status, outcome)


def _run(url: str, items: list[Outgoing]) -> list[Result]:
    """Open loop: each delivery is handed to the pool at its scheduled time."""
    sender = _Sender(url)
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="deliver") as pool:
        start = time.perf_counter() + 0.5
        futures = []
        for i, item in enumerate(items):
            at = start + i / RATE
            delay = at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(sender.deliver, item, at))
        return [f.result() for f in futures]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process, from /proc (fields 14 and 15, in clock ticks)."""
    assert pid is not None
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    warm, count = int(RATE * WARMUP_SECONDS), int(RATE * SECONDS)
    with served_world(PROJECTS, files=python_app_files(), deferred_deliveries=True) as w:
        made = {p.project_id: templates(w.sim, p) for p in w.projects}
        items = list(mix(w.projects, made, warm + count))
        cpu_before, client_before = _cpu_seconds(w.server.pid), time.process_time()
        results = _run(w.webhook_url, items)
        server_cpu = _cpu_seconds(w.server.pid) - cpu_before
        client_cpu = time.process_time() - client_before
        pushes, duplicated, missing, unrecorded = _check_database(w, items)
        inside = [float(v) for v in SERVER_TIME_RE.findall(w.server.output())][-count:]
    lost = sum(1 for r in results if r.latency is None or not 200 <= r.status < 300)
    print(f"webhook deliveries to `nanoscale serve` (SQLite, worker off): {count} at {RATE}/s "
          f"for {SECONDS:g} s after a {WARMUP_SECONDS:g} s warm-up at the same rate, open loop, "
          f"{PROJECTS} linked projects; host load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    _latencies(results[warm:], _ms([r for r in results[:warm] if r.latency is not None]))
    if inside:
        print(f"  inside the server (its request log, last {len(inside)}): p50 "
              f"{_percentile(inside, 50):.1f} ms, p99 {_percentile(inside, 99):.1f} ms, "
              f"max {max(inside):.1f} ms")  # fmt: skip
    print(f"  count {count} (+{warm} warm-up), lost {lost} (no answer or not 2xx, warm-up "
          f"included), delivery records missing {unrecorded}")  # fmt: skip
    print(f"  distinct pushes {pushes}: duplicates-deployed {duplicated}, "
          f"never requested {missing}")  # fmt: skip
    print(f"  CPU per delivery: server {server_cpu / len(results) * 1000:.2f} ms, this client "
          f"{client_cpu / len(results) * 1000:.2f} ms (at {RATE}/s the server alone needs "
          f"{server_cpu * RATE / len(results):.0%} of a CPU)")  # fmt: skip


def _per_second(measured: list[Result]) -> None:
    """Whether the tail is everywhere or a few bad seconds (on a shared host: its neighbours)."""
    seconds: dict[int, list[Result]] = {}
    for r in measured:
        seconds.setdefault(int(r.scheduled - measured[0].scheduled), []).append(r)
    p99s = sorted(_percentile(_ms(rs) or [0.0], 99) for rs in seconds.values())
    over = sum(1 for v in p99s if v > 50)
    print(f"  per-second p99: median {statistics.median(p99s):.1f} ms, worst {p99s[-1]:.1f} ms; "
          f"{over} of {len(p99s)} seconds above 50 ms")  # fmt: skip


def _ms(results: list[Result]) -> list[float]:
    return [r.latency * 1000 for r in results if r.latency is not None and r.status < 500]


def _latencies(measured: list[Result], warm_up: list[float]) -> None:
    ms, lag = _ms(measured), [(r.sent - r.scheduled) * 1000 for r in measured]
    print(f"  acknowledgement latency from scheduled send: p50 {_percentile(ms, 50):.1f} ms, "
          f"p90 {_percentile(ms, 90):.1f} ms, p99 {_percentile(ms, 99):.1f} ms, "
          f"max {max(ms):.1f} ms (target p99 < 50 ms)")  # fmt: skip
    print(f"  mean {statistics.fmean(ms):.1f} ms; client send lag p99 "
          f"{_percentile(lag, 99):.1f} ms (part of the latency above); warm-up p99 "
          f"{_percentile(warm_up, 99):.1f} ms")  # fmt: skip
    _per_second(measured)
    by_kind: dict[str, Counter[str]] = {}
    for r in measured:
        by_kind.setdefault(r.item.kind, Counter())[f"{r.status} {r.outcome}"] += 1
    for kind, answers in sorted(by_kind.items()):
        own = _ms([r for r in measured if r.item.kind == kind])
        figures = f"p50 {_percentile(own, 50):5.1f} ms, p99 {_percentile(own, 99):6.1f} ms"
        print(f"  {kind:<11} {figures}  {json.dumps(dict(sorted(answers.items())))}")


if __name__ == "__main__":
    main()
