"""A deploy test harness: real git server, real SQLite/PostgreSQL, real process runtime.

`DeployHarness` creates users and projects as rows, requests deployments through the one
entry point, and runs the worker deterministically with `run_until_idle()`.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from nanoscale.accounts.models import User
from nanoscale.context import AppContext, build_context
from nanoscale.db.engine import session_scope
from nanoscale.db.migrate import upgrade
from nanoscale.deployments.logs.build_log import log_text
from nanoscale.deployments.models import Deployment
from nanoscale.deployments.queue.requests import request_deployment
from nanoscale.deployments.reads.status import project_status, project_url
from nanoscale.deployments.releases import current_release
from nanoscale.deployments.worker.loop import Worker
from nanoscale.projects.models import Project
from nanoscale.projects.secrets import write_env_vars, write_git_password
from nanoscale.settings import Settings
from tests.support.git_server import GitServer, Repo
from tests.support.project_users import projects_created_in, remove_users_of

APPS = Path(__file__).resolve().parent.parent / "fixtures" / "apps"
NODE_APP = {"start_command": "node server.js"}
PYTHON_APP = {"start_command": "python3 app.py"}
STATIC_APP = {"build_command": "sh build.sh", "output_directory": "dist"}


@contextmanager
def traversable_dir(prefix: str) -> Iterator[Path]:
    """A temp dir project users can pass through (pytest's tmp_path root is mode 0700). It is
    under /var/tmp, which sandboxed builds see (read-only); /tmp is private to each sandbox,
    so a flag file a test creates there would never reach the build waiting for it."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def deploy_settings_overrides(data_dir: Path, git: GitServer) -> dict[str, Any]:
    return {
        "data_dir": data_dir,
        "git_allowed_hosts": [git.host],
        "health_check_timeout_seconds": 20,
        "drain_seconds": 0.2,
        "lease_seconds": 5,
        "worker_poll_seconds": 0.1,
    }


class DeployHarness:
    def __init__(self, ctx: AppContext, git: GitServer, worker: Worker) -> None:
        self.ctx = ctx
        self.git = git
        self.worker = worker
        self.projects_made: list[tuple[str, str]] = []  # (name, id), for user cleanup
        self._owner_id: str | None = None

    @property
    def owner_id(self) -> str:
        """A user row owning harness-made projects (created on first use)."""
        if self._owner_id is None:
            with session_scope(self.ctx.sessions) as session:
                owner = User(username="deploy-owner", password_hash="x")
                session.add(owner)
                session.flush()
                self._owner_id = owner.id
        return self._owner_id

    def repo(
        self, name: str, app: str = "node", *, version: str = "v1", **kw: Any
    ) -> tuple[Repo, str]:
        repo = self.git.create_repo(name, **kw)
        sha = repo.commit_tree(
            APPS / app, f"{app} {version}", extra={"version.txt": version + "\n"}
        )
        return repo, sha

    def project(self, repo: Repo, *, env: dict[str, str] | None = None, **fields: Any) -> Project:
        # Unique by default: project users are named after projects, and suites may run in
        # parallel on one host.
        name = fields.pop("name", f"{repo.name}-{secrets.token_hex(3)}")
        with session_scope(self.ctx.sessions) as session:
            project = Project(
                owner_id=self.owner_id,
                name=name,
                repo_url=repo.url,
                port=self.ctx.settings.port_range_start + len(self.projects_made),
                git_username=repo.username,
                **{"branch": "main", **NODE_APP, **fields},
            )
            session.add(project)
            session.flush()
            write_env_vars(project, env or {}, keyring=self.ctx.keyring)
            if repo.password:
                write_git_password(project, repo.password, keyring=self.ctx.keyring)
        self.projects_made.append((name, project.id))
        return project

    def request(self, project: Project, sha: str | None, trigger: str = "manual", **kw: Any) -> str:
        with session_scope(self.ctx.sessions) as session:
            fresh = session.get_one(Project, project.id)
            return request_deployment(
                session, project=fresh, commit_sha=sha, trigger=trigger, correlation={}, **kw
            ).id

    def run_until_idle(self) -> int:
        ran = 0
        while self.worker.run_once():
            ran += 1
        return ran

    def deployment(self, deployment_id: str) -> Deployment:
        with session_scope(self.ctx.sessions) as session:
            return session.get_one(Deployment, deployment_id)

    def deployments(self, project: Project) -> list[Deployment]:
        with session_scope(self.ctx.sessions) as session:
            rows = session.query(Deployment).filter_by(project_id=project.id)
            return sorted(rows, key=lambda d: d.queued_at)

    def live(self, project: Project) -> Deployment | None:
        with session_scope(self.ctx.sessions) as session:
            return current_release(session, project.id)

    def status(self, project: Project) -> str:
        with session_scope(self.ctx.sessions) as session:
            return project_status(session, project_id=project.id)

    def url(self, project: Project) -> str | None:
        with session_scope(self.ctx.sessions) as session:
            fresh = session.get_one(Project, project.id)
            proxy = self.worker.backends.proxy
            return project_url(session, project=fresh, settings=self.ctx.settings, proxy=proxy)

    def log(self, deployment_id: str) -> str:
        with session_scope(self.ctx.sessions) as session:
            return log_text(session, deployment_id)

    def serve(self, project: Project) -> str:
        """What the project's current release answers on its own port."""
        live = self.live(project)
        assert live is not None and live.release_port, "no live release"
        return httpx.get(f"http://127.0.0.1:{live.release_port}/", timeout=5).text

    def close(self) -> None:
        runtime = self.worker.backends.runtime
        stop_all = getattr(runtime, "stop_all", None)
        if stop_all is not None:
            stop_all(grace_seconds=2)
        self.worker.backends.close()
        with self.ctx.engine.connect() as db:
            made = projects_created_in(db)
        remove_users_of(made | set(self.projects_made))


@contextmanager
def deploy_harness(settings: Settings, git: GitServer) -> Iterator[DeployHarness]:
    ctx = build_context(settings)
    upgrade(ctx.engine)
    harness = DeployHarness(ctx, git, Worker(ctx))
    try:
        yield harness
    finally:
        harness.close()
        ctx.close()
