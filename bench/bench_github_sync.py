"""Repository sync for an installation with 5,000 repositories, over real HTTP to the served
GitHub simulator: API calls and time for the first sync (100 per page: at least 50 calls),
for a re-sync of the unchanged installation (conditional requests: 304s), and search latency
(p50/p95) over the cached list.

    .venv/bin/python bench/bench_github_sync.py [REPOS]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.github_bench_world import BenchWorld, bench_world
from nanoscale.db.engine import session_scope
from nanoscale.github.service import search_cache
from nanoscale.github.sync import sync_repositories
from nanoscale.github.user_tokens import user_access_token

SEARCHES = 300


def _core_used(w: BenchWorld) -> int:
    """The user token's spent primary rate limit (GET /rate_limit itself is free)."""
    token = user_access_token(w.ctx, user_id=w.user.id)
    answer = w.gateway.request("GET", "/rate_limit", auth=f"Bearer {token}", rate_key="user")
    w.gateway.calls -= 1  # not part of the figures
    return int(answer.json()["resources"]["core"]["used"])


def main(repos: int) -> None:
    built = time.perf_counter()
    with bench_world(repos) as w:
        print(f"world: {repos} repositories built in {time.perf_counter() - built:.1f} s")
        installation_id = w.installation.id
        rounds = []
        for label in ("first sync", "re-sync (unchanged)"):
            budget = _core_used(w)
            calls = w.gateway.calls
            started = time.perf_counter()
            with session_scope(w.ctx.sessions) as db:
                result = sync_repositories(db, ctx=w.ctx, user=w.user,
                                           installation_id=installation_id)  # fmt: skip
            elapsed = time.perf_counter() - started
            rounds.append(elapsed)
            spent = _core_used(w) - budget
            print(f"{label:22s} {w.gateway.calls - calls:4d} API calls  {elapsed * 1000:8.0f} ms"
                  f"  rate-limit points {spent:3d}  repositories={result.repositories}"
                  f" changed={result.changed}")  # fmt: skip
        rng = random.Random(7)
        queries = [None, *(f"repo-{rng.randrange(repos):05d}"[: rng.randrange(6, 11)]
                           for _ in range(SEARCHES - 1))]  # fmt: skip
        timings = []
        with session_scope(w.ctx.sessions) as db:
            for query in queries:
                started = time.perf_counter()
                search_cache(db, user_id=w.user.id, installation_id=installation_id,
                             cursor=None, query=query, limit=50)  # fmt: skip
                timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(f"search over the cache ({SEARCHES} queries): p50 {statistics.median(timings):.1f} ms"
              f"  p95 {p95:.1f} ms  (target < 30 ms)")  # fmt: skip
        print(f"re-sync / first sync time ratio: {rounds[1] / rounds[0]:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
