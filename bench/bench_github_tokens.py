"""Installation tokens minted for 10 consecutive deployments of one GitHub project (target: 1):
the project is created from GitHub (first deployment), then redeployed 9 times, each a real
`git ls-remote` + fetch of the private repository from the served GitHub simulator and a real
release started by the process runtime.

    .venv/bin/python bench/bench_github_tokens.py
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.github_bench_world import bench_world
from nanoscale.db.engine import session_scope
from nanoscale.deployments import service
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.worker.loop import Worker
from nanoscale.engine.runtime.users import remove_project_user
from nanoscale.errors import PlatformError
from nanoscale.github import projects
from nanoscale.projects.schemas import GitHubSource, ProjectCreate
from tests.support.github_app import python_app_files

DEPLOYS = 10


def main() -> None:
    with bench_world(1, files=python_app_files(), health_check_timeout_seconds=30,
                     drain_seconds=0.1) as w:  # fmt: skip
        repo = next(iter(w.sim.state.repos.values()))
        worker = Worker(w.ctx)
        source = GitHubSource(installation_id=w.installation.id, repo_id=repo.id)
        data = ProjectCreate(name="bench-gh-tokens", start_command="python3 app.py",
                             github_source=source)  # fmt: skip
        started = time.perf_counter()
        states = []
        project_id: str | None = None
        try:
            with session_scope(w.ctx.sessions) as db:
                project, _ = projects.create_and_deploy(db, ctx=w.ctx, owner=w.user, data=data,
                                                        ip=None)  # fmt: skip
                project_id = project.id
            for n in range(DEPLOYS):
                if n:
                    with session_scope(w.ctx.sessions) as db:
                        service.redeploy(db, user=w.user, project_id=project_id,
                                         commit_sha=None)  # fmt: skip
                while worker.run_once():
                    pass
            with session_scope(w.ctx.sessions) as db:
                states = [d.state for d in db.query(Deployment).filter_by(project_id=project_id)]
        finally:
            worker.backends.runtime.stop_all(grace_seconds=2)  # type: ignore[attr-defined]
            worker.backends.close()
            if project_id is not None:
                with contextlib.suppress(PlatformError):
                    remove_project_user(data.name, project_id)
        elapsed = time.perf_counter() - started
        print(f"deployments: {len(states)} ({', '.join(sorted(set(states)))})")
        clone = [t for t in w.sim.state.installation_tokens.values()
                 if t.permissions == {"contents": "read"}]  # fmt: skip
        print(f"installation tokens minted for {DEPLOYS} deployments: {len(clone)} clone token(s)"
              f" (target 1); {w.gateway.minted} in all (the hook has its own)")  # fmt: skip
        print(f"GitHub API calls: {w.gateway.calls}; wall time {elapsed:.1f} s "
              f"({elapsed / DEPLOYS:.2f} s per deployment)")  # fmt: skip


if __name__ == "__main__":
    main()
