"""One release: fetch -> build -> start on a fresh port -> health check -> proxy switch.

The old release keeps serving until the proxy points at the new, healthy one; any failure
before that stops the new release and leaves traffic where it was. Steps are reported to a
`ProgressReport` (the worker's recorder writes them to the deployment), which may raise
`Cancelled` at a step boundary.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from nanoscale.engine.build import BuildControl, BuildSpec, run_build
from nanoscale.engine.credentials import CredentialProvider
from nanoscale.engine.fetch import CommitInfo, FetchContext, fetch_commit
from nanoscale.engine.health_check import wait_healthy
from nanoscale.engine.isolation import (
    TenantPolicy,
    lock_down_project_tree,
    lock_down_release,
)
from nanoscale.engine.loader_env import loader_vars
from nanoscale.engine.proxy.base import Proxy, Route
from nanoscale.engine.runtime import procfs
from nanoscale.engine.runtime.base import STATIC_REF, ReleaseHandle, ReleaseSpec, Runtime
from nanoscale.engine.runtime.listeners import foreign_listeners
from nanoscale.engine.runtime.users import Account, give_tree_to, take_tree_back
from nanoscale.engine.static_publish import publish_static, unpublish
from nanoscale.engine.static_root import check_static_root
from nanoscale.errors import NanoScaleError, PlatformError, UserCodeError
from nanoscale.logs import get_logger

log = get_logger(__name__)
BUILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class ReleaseJob:
    project_id: str
    project_name: str
    deployment_id: str
    repo_url: str
    commit_sha: str
    root_directory: str
    install_command: str | None
    build_command: str | None
    start_command: str | None
    output_directory: str | None
    health_check_path: str
    hosts: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)
    stable_port: int | None = None  # the project's own port (used without Caddy)


@dataclass(frozen=True)
class ProjectPaths:
    root: Path  # <data_dir>/projects/<project id>

    @property
    def store(self) -> Path:
        return self.root / "store.git"

    @property
    def modules(self) -> Path:
        return self.root / "modules"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def release(self, deployment_id: str) -> Path:
        return self.root / "releases" / deployment_id

    @property
    def published_root(self) -> Path:
        """<data_dir>/published/<project id>: outside the project's tree, platform-owned."""
        return self.root.parent.parent / "published" / self.root.name

    def published(self, deployment_id: str) -> Path:
        """A static release's output as the proxy serves it (engine/static_publish.py)."""
        return self.published_root / deployment_id

    def release_log(self, deployment_id: str) -> Path:
        return self.root / "logs" / f"{deployment_id}.log"


@dataclass(frozen=True)
class Limits:
    fetch_timeout: float
    build_timeout: float
    health_timeout: float
    drain_seconds: float


class Step(StrEnum):
    """The pipeline's step boundaries after the fetch (named as the deployment states)."""

    BUILDING = "building"
    STARTING = "starting"


class ProgressReport(Protocol):
    """Where the pipeline reports its progress, and the build's log and cancel switch."""

    control: BuildControl

    def step(self, step: Step) -> None:
        """Record the step boundary; raise `Cancelled` if the deployment was cancelled."""

    def commit_fetched(self, info: CommitInfo) -> None:
        """Record what the fetched commit says about itself (subject line, author)."""

    def release_started(self, handle: ReleaseHandle) -> None: ...


def is_static(job: ReleaseJob) -> bool:
    return bool(job.output_directory)


def inside(base: Path, relative: str, what: str) -> Path:
    path = (base / relative).resolve()
    if path != base.resolve() and base.resolve() not in path.parents:
        raise UserCodeError(
            f"{what} {relative!r} points outside the repository", code="invalid_path"
        )
    return path


def workdir_for(job: ReleaseJob, paths: ProjectPaths) -> Path:
    return inside(paths.release(job.deployment_id), job.root_directory or ".", "root_directory")


def static_root_for(job: ReleaseJob, paths: ProjectPaths) -> Path | None:
    if not is_static(job):
        return None
    return inside(workdir_for(job, paths), job.output_directory or ".", "output_directory")


def refuse_loader_vars(env: Mapping[str, str]) -> None:
    """Env vars stored before loader variables were refused at input fail the deployment."""
    found = loader_vars(env)
    if found:
        raise UserCodeError(
            f"environment variable {found[0]} changes how programs are loaded and is not "
            "allowed; remove it from the project's environment variables",
            code="env_var_forbidden",
        )


def check_port_owner(handle: ReleaseHandle, run_as: Account | None) -> None:
    """The healthy answer came from the release, not from a process that took its port."""
    pids = set(procfs.marked_pids(handle.deployment_id))
    foreign = foreign_listeners(handle.port, uid=run_as.uid if run_as else None, pids=pids)
    if foreign:
        raise PlatformError(
            f"another process (uid {foreign[0].uid}) was listening on the release port "
            f"{handle.port} instead of the app; traffic was not switched to it",
            code="release_port_hijacked",
        )


def spec_for(job: ReleaseJob, paths: ProjectPaths, *, port: int, run_as: str | None) -> ReleaseSpec:
    static_root = static_root_for(job, paths)
    return ReleaseSpec(
        project_id=job.project_id,
        project_name=job.project_name,
        deployment_id=job.deployment_id,
        workdir=workdir_for(job, paths),
        tree=paths.release(job.deployment_id),
        start_command=None if static_root else job.start_command,
        static_root=static_root,
        env={**job.env, "NANOSCALE_GIT_COMMIT": job.commit_sha},
        port=port,
        run_as=run_as,
        log_path=paths.release_log(job.deployment_id),
    )


def route_for(job: ReleaseJob, port: int, paths: ProjectPaths) -> Route:
    """Static sites are served from their published copy, never from the release itself."""
    if is_static(job):
        published = paths.published(job.deployment_id)
        return Route(
            job.project_id, job.hosts, None, static_root=published, stable_port=job.stable_port
        )
    return Route(job.project_id, job.hosts, port, static_root=None, stable_port=job.stable_port)


@dataclass
class Pipeline:
    runtime: Runtime
    proxy: Proxy
    limits: Limits
    url_allowed: Callable[[str], bool]
    policy: TenantPolicy = field(default_factory=lambda: TenantPolicy(None, None))

    def deploy(
        self,
        job: ReleaseJob,
        *,
        paths: ProjectPaths,
        credentials: CredentialProvider,
        run_as: Account | None,
        port: int,
        progress: ProgressReport,
    ) -> ReleaseHandle:
        """Run the release up to the proxy switch and return its handle; the caller retires
        the previous release."""
        release_dir = paths.release(job.deployment_id)
        refuse_loader_vars(job.env)
        lock_down_project_tree(
            paths.root, private_dirs=(paths.store, paths.modules, paths.root / "logs")
        )
        log = progress.control.log
        info = fetch_commit(
            store=paths.store,
            url=job.repo_url,
            sha=job.commit_sha,
            dest=release_dir,
            ctx=FetchContext(
                credentials=credentials,
                modules_dir=paths.modules,
                url_allowed=self.url_allowed,
                timeout=self.limits.fetch_timeout,
                log=log,
                cancel=progress.control.cancel,
            ),
        )
        progress.commit_fetched(info)
        if run_as is not None:
            give_tree_to(release_dir, run_as)
        lock_down_release(release_dir)
        workdir = workdir_for(job, paths)
        if not workdir.is_dir():
            raise UserCodeError(
                f"root_directory {job.root_directory!r} does not exist", code="invalid_path"
            )
        progress.step(Step.BUILDING)
        self._build(job, workdir, paths, run_as, progress.control)
        progress.step(Step.STARTING)
        started = time.monotonic()
        handle = self._start(job, paths, run_as, port)
        progress.release_started(handle)
        try:
            if handle.ref != STATIC_REF:
                wait_healthy(
                    url=f"http://127.0.0.1:{port}{job.health_check_path or '/'}",
                    timeout=self.limits.health_timeout,
                    alive=lambda: self.runtime.is_running(handle),
                    cancel=progress.control.cancel,
                    exit_code=lambda: self.runtime.exit_code(handle),
                )
                elapsed = (time.monotonic() - started) * 1000
                log(f"release answered its health check {elapsed:.0f} ms after its start\n")
                check_port_owner(handle, run_as)
            self.proxy.apply(route_for(job, handle.port, paths))
        except BaseException:
            self._append_release_log(paths, job, log)
            self.discard(handle, paths)
            raise
        log(f"release {job.commit_sha[:12]} is live\n")
        return handle

    def ensure_published(self, job: ReleaseJob, paths: ProjectPaths) -> None:
        """Publish a live static release again if its copy is missing (e.g. it went live
        before sites were published as copies). A failure is logged; the route then 404s."""
        published = paths.published(job.deployment_id)
        root = static_root_for(job, paths) if is_static(job) else None
        if root is None or published.is_dir() or not root.is_dir():
            return
        try:
            check_static_root(root)
            publish_static(root, published, group=self.proxy.static_reader_gid())
        except (NanoScaleError, OSError) as exc:
            unpublish(published)
            log.warning("deploy.republish_failed", deployment_id=job.deployment_id, error=str(exc))

    def retire(self, handle: ReleaseHandle, paths: ProjectPaths) -> None:
        """After the switch: let in-flight requests drain, then stop and delete the release."""
        time.sleep(self.limits.drain_seconds)
        self.discard(handle, paths)

    def discard(self, handle: ReleaseHandle, paths: ProjectPaths) -> None:
        if handle.ref != STATIC_REF:
            self.runtime.stop(handle)
        unpublish(paths.published(handle.deployment_id))
        shutil.rmtree(paths.release(handle.deployment_id), ignore_errors=True)

    def _build(
        self,
        job: ReleaseJob,
        workdir: Path,
        paths: ProjectPaths,
        run_as: Account | None,
        control: BuildControl,
    ) -> None:
        commands = [
            (label, cmd)
            for label, cmd in (("install", job.install_command), ("build", job.build_command))
            if cmd
        ]
        if not commands:
            control.log("no install or build command\n")
            return
        env = {
            "PATH": BUILD_PATH,
            "HOME": str(paths.home),
            "LANG": "C.UTF-8",
            "CI": "1",
            "NANOSCALE_GIT_COMMIT": job.commit_sha,
            **job.env,
        }
        spec = BuildSpec(
            workdir=workdir,
            commands=commands,
            env=env,
            run_as=run_as,
            timeout=self.limits.build_timeout,
            marker=job.deployment_id,
            writable=(paths.release(job.deployment_id), paths.home),
            limits=self.policy.limits,
            sandbox=self.policy.sandbox,
        )
        run_build(spec, control)

    def _start(
        self, job: ReleaseJob, paths: ProjectPaths, run_as: Account | None, port: int
    ) -> ReleaseHandle:
        spec = spec_for(job, paths, port=port, run_as=run_as.name if run_as else None)
        if spec.static_root is not None:
            if not spec.static_root.is_dir():
                raise UserCodeError(
                    f"the build produced no output_directory {job.output_directory!r}",
                    code="output_missing",
                )
            if run_as is not None:  # no process of the project's uid can change it any more
                take_tree_back(paths.release(job.deployment_id))
            check_static_root(spec.static_root)  # no link may publish a host file
            published = paths.published(job.deployment_id)
            unpublish(published)  # a half-made copy from an interrupted attempt
            try:
                publish_static(spec.static_root, published, group=self.proxy.static_reader_gid())
            except BaseException:
                unpublish(published)
                raise
            return ReleaseHandle(job.deployment_id, job.project_id, 0, STATIC_REF)
        if not job.start_command:
            raise UserCodeError(
                "the project has no start_command and no output_directory",
                code="start_command_missing",
            )
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        return self.runtime.start(spec)

    @staticmethod
    def _append_release_log(
        paths: ProjectPaths, job: ReleaseJob, log: Callable[[str], None]
    ) -> None:
        path = paths.release_log(job.deployment_id)
        if path.exists():
            tail = path.read_text(errors="replace")[-4000:]
            if tail:
                log("--- app output ---\n" + tail + ("" if tail.endswith("\n") else "\n"))
