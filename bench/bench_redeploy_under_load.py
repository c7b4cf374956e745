"""Requests failed during 5 consecutive redeploys under steady load through a real Caddy.

Drives real redeploys through NanoScale's one entry point and worker (git over HTTP, build,
process runtime, Caddy route switch, drain, stop of the old release), while 2 client threads
send requests to the project's host name through Caddy. Target: 0 failed requests.
Two runs: fresh connections per request with no retry at all (strict: every error is a
failure), then keep-alive clients that, like browsers, resend a GET once when Caddy closed
an idle connection before any response byte (each config load closes the old server's
connections). Retries are reported and bounded: more than one per client and config load
fails the benchmark (see tests/support/caddy_load.py).

    .venv/bin/python bench/bench_redeploy_under_load.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nanoscale.crypto import generate_key
from nanoscale.settings import load_settings
from tests.support.caddy import running_caddy
from tests.support.caddy_load import LoadLoop
from tests.support.deploy import DeployHarness, deploy_harness, deploy_settings_overrides
from tests.support.git_server import GitServer

REDEPLOYS = 5
CLIENTS = 2


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="nanoscale-bench-"))
    root.chmod(0o711)  # project users must be able to reach their release directories
    try:
        with GitServer(root / "git") as git, running_caddy() as caddy:
            settings = load_settings(
                secret_key=generate_key(),
                database_url=f"sqlite:///{root / 'nanoscale.db'}",
                worker_enabled=False,
                **deploy_settings_overrides(root / "var", git),
                **caddy.settings_overrides(),
            )
            with deploy_harness(settings, git) as harness:
                return run(harness, caddy.http_port)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(harness: DeployHarness, http_port: int) -> int:
    repo, sha = harness.repo("bench", "python", version="v0")
    project = harness.project(repo, start_command="python3 app.py")
    harness.request(project, sha, trigger="create")
    harness.run_until_idle()
    host = f"{project.name}.localhost"
    status = 0
    for keep_alive in (False, True):
        durations = []
        with LoadLoop(http_port, host, clients=CLIENTS, keep_alive=keep_alive) as load:
            time.sleep(0.5)
            for n in range(1, REDEPLOYS + 1):
                new_sha = repo.commit({"version.txt": f"v{n}-{keep_alive}\n"})
                started = time.monotonic()
                deployment_id = harness.request(project, new_sha)
                harness.run_until_idle()
                durations.append(time.monotonic() - started)
                state = harness.deployment(deployment_id).state
                if state != "live":
                    print(f"redeploy {n} ended {state}:\n{harness.log(deployment_id)}")
                    return 1
                time.sleep(0.5)
            result = load.stop()
        bound = load.retry_bound(REDEPLOYS)
        mode = "keep-alive" if keep_alive else "fresh connections"
        print(f"== clients: {mode}")
        print(
            f"redeploys under load:      {REDEPLOYS} (real pipeline: fetch, build, start, switch)"
        )
        print(f"client threads:            {CLIENTS}")
        print(f"requests sent:             {result.requests}")
        print(f"requests failed:           {len(result.failures)}  (target 0)")
        print(f"GETs retried once:         {result.retried}  (allowed at most {bound})")
        print(f"answered by version:       {dict(sorted(result.answered_by.items()))}")
        print(f"redeploy time, median (s): {sorted(durations)[len(durations) // 2]:.2f}")
        for failure in result.failures[:5]:
            print(f"  failure: {failure}")
        if result.failures or result.retried > bound:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
