"""The `process` runtime (embedded default): each release is a supervised process group.

One supervisor thread watches every release; a release that exits on its own is restarted
with exponential backoff (reset once it has stayed up for `stable_seconds`). Each release has a
pidfile (`<state_dir>/<deployment id>.json`: pid, start time, port — never env values) so a
restarted orchestrator can re-adopt it: the pid must be alive, have the recorded start time and
carry the release marker in its environment. Otherwise the release is started again.

`close()` stops supervising but leaves releases running, so an orchestrator restart causes no
downtime; `stop()` (or `stop_all()`) ends them.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from nanoscale.engine.runtime import procfs, spawn
from nanoscale.engine.runtime.base import STATIC_REF, ReleaseHandle, ReleaseSpec
from nanoscale.engine.runtime.cgroups import ResourceLimits
from nanoscale.engine.runtime.sandbox import Sandbox
from nanoscale.engine.runtime.users import Account, check_reachable, check_workdir, lookup
from nanoscale.errors import PlatformError
from nanoscale.logs import get_logger

log = get_logger("nanoscale.runtime")
POLL_SECONDS = 0.1


@dataclass
class _Release:
    spec: ReleaseSpec
    pid: int
    start_time: int | None
    started_at: float
    backoff: float
    restart_at: float | None = None
    exit_code: int | None = None  # of the last process that ended


class ProcessRuntime:
    def __init__(
        self,
        state_dir: Path,
        *,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        stable_seconds: float = 30.0,
        limits: ResourceLimits | None = None,
        sandbox: Sandbox | None = None,
    ) -> None:
        self._state_dir = state_dir
        self._limits = limits
        self._sandbox = sandbox
        state_dir.mkdir(parents=True, exist_ok=True)
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._stable_seconds = stable_seconds
        self._releases: dict[str, _Release] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="ns-runtime", daemon=True)
        self._thread.start()

    # -- Runtime interface ---------------------------------------------------------------------

    def start(self, spec: ReleaseSpec) -> ReleaseHandle:
        if spec.static_root is not None or spec.start_command is None:
            return _handle(spec, STATIC_REF)
        with self._lock:
            current = self._releases.get(spec.deployment_id)
            if current is not None:  # idempotent: one process group per release
                return _handle(spec, str(current.pid))
            release = self._launch(spec)
            self._releases[spec.deployment_id] = release
        return _handle(spec, str(release.pid))

    def is_running(self, handle: ReleaseHandle) -> bool:
        if handle.ref == STATIC_REF:
            return True
        with self._lock:
            release = self._releases.get(handle.deployment_id)
            return release is not None and procfs.is_alive(release.pid, release.start_time)

    def exit_code(self, handle: ReleaseHandle) -> int | None:
        with self._lock:
            release = self._releases.get(handle.deployment_id)
            if release is None:
                return None
            code = spawn.reap(release.pid)  # the supervisor may not have looked yet
            if code is not None:
                release.exit_code = code
            return release.exit_code

    def stop(self, handle: ReleaseHandle, *, grace_seconds: float = 10.0) -> None:
        if handle.ref == STATIC_REF:
            return
        with self._lock:
            release = self._releases.pop(handle.deployment_id, None)
        pgid = release.pid if release else self._recorded_pid(handle.deployment_id)
        spawn.terminate(pgid, handle.deployment_id, grace_seconds)
        self._pidfile(handle.deployment_id).unlink(missing_ok=True)

    def adopt(self, handles: list[ReleaseHandle], specs: list[ReleaseSpec]) -> list[ReleaseHandle]:
        """Re-adopt or restart the wanted releases (`specs`); releases with a pidfile but no
        spec are leftovers of an interrupted switch and are stopped."""
        wanted = {s.deployment_id for s in specs}
        for leftover in self._recorded_ids() - wanted:
            spawn.terminate(self._recorded_pid(leftover), leftover, 5.0)
            self._pidfile(leftover).unlink(missing_ok=True)
        return [self._adopt_one(spec) for spec in specs]

    def close(self) -> None:
        self._closed.set()
        self._thread.join()
        spawn.forget_children()

    def stop_all(self, *, grace_seconds: float = 10.0) -> None:
        """End every release this runtime supervises (tests, project teardown)."""
        with self._lock:
            specs = [r.spec for r in self._releases.values()]
        for spec in specs:
            self.stop(_handle(spec, ""), grace_seconds=grace_seconds)

    # -- internals -----------------------------------------------------------------------------

    def _adopt_one(self, spec: ReleaseSpec) -> ReleaseHandle:
        if spec.static_root is not None or spec.start_command is None:
            return _handle(spec, STATIC_REF)
        with self._lock:
            current = self._releases.get(spec.deployment_id)
            if current is not None:
                return _handle(spec, str(current.pid))
            record = self._read_pidfile(spec.deployment_id)
            if record and self._is_ours(spec.deployment_id, record):
                release = self._record(spec, record["pid"], record["start_time"])
                spawn.append_log(spec.log_path, f"re-adopted running release (pid {release.pid})")
            else:
                # leftovers (a stale group, or processes of a lost pidfile) may hold the port
                spawn.terminate(None, spec.deployment_id, 5.0)
                release = self._launch(spec)
            self._releases[spec.deployment_id] = release
            return _handle(spec, str(release.pid))

    def _is_ours(self, release_id: str, record: dict[str, int]) -> bool:
        pid = record["pid"]
        return procfs.is_alive(pid, record["start_time"]) and (
            procfs.environ_value(pid, procfs.MARKER_VAR) == release_id
        )

    def _launch(self, spec: ReleaseSpec) -> _Release:
        """Every launch (first start, crash restart, re-adoption) re-checks the working
        directory and never changes ownership: the pipeline gave the tree to the project's
        user once, before any of its code ran."""
        account = _account_for(spec)
        check_workdir(spec.workdir, spec.tree)
        if account is not None:
            check_reachable(spec.workdir, account)
        try:
            pid = spawn.spawn(spec, account, limits=self._limits, sandbox=self._sandbox)
        except OSError as exc:
            raise PlatformError(
                f"could not start the release: {exc.strerror}", code="release_spawn_failed"
            ) from None
        release = _Release(
            spec, pid, procfs.start_time(pid), time.monotonic(), self._backoff_initial
        )
        self._write_pidfile(spec, release)
        return release

    def _record(self, spec: ReleaseSpec, pid: int, started: int | None) -> _Release:
        return _Release(spec, pid, started, time.monotonic(), self._backoff_initial)

    def _supervise(self) -> None:
        while not self._closed.wait(POLL_SECONDS):
            with self._lock:
                for release in list(self._releases.values()):
                    try:
                        self._check(release)
                    except Exception:  # one broken release must not end supervision
                        log.exception(
                            "runtime.supervise_failed", deployment_id=release.spec.deployment_id
                        )

    def _check(self, release: _Release) -> None:
        now = time.monotonic()
        if release.restart_at is not None:
            if now >= release.restart_at:
                self._restart(release)
            return
        code = spawn.reap(release.pid)
        if code is None and procfs.is_alive(release.pid, release.start_time):
            return
        if code is not None:
            release.exit_code = code
        if now - release.started_at >= self._stable_seconds:
            release.backoff = self._backoff_initial
        # orphans hold the port
        spawn.terminate(release.pid, release.spec.deployment_id, 2.0, final=False)
        release.restart_at = now + release.backoff
        log.warning(
            "runtime.release_exited",
            deployment_id=release.spec.deployment_id,
            exit_code=code,
            restart_in=release.backoff,
        )
        exit_text = "" if code is None else f" with code {code}"
        exit_text += spawn.limit_note(release.spec.deployment_id, self._limits)
        spawn.append_log(
            release.spec.log_path, f"app exited{exit_text}; restarting in {release.backoff:g}s"
        )
        release.backoff = min(release.backoff * 2, self._backoff_max)

    def _restart(self, release: _Release) -> None:
        try:
            fresh = self._launch(release.spec)
        except PlatformError as exc:
            spawn.append_log(release.spec.log_path, f"restart failed: {exc.message}")
            release.restart_at = time.monotonic() + release.backoff
            release.backoff = min(release.backoff * 2, self._backoff_max)
            return
        release.pid, release.start_time = fresh.pid, fresh.start_time
        release.started_at, release.restart_at = fresh.started_at, None

    # -- pidfiles ------------------------------------------------------------------------------

    def _pidfile(self, release_id: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", release_id):
            raise ValueError(f"unsafe deployment id {release_id!r}")
        return self._state_dir / f"{release_id}.json"

    def _write_pidfile(self, spec: ReleaseSpec, release: _Release) -> None:
        path = self._pidfile(spec.deployment_id)
        record = {"pid": release.pid, "start_time": release.start_time, "port": spec.port}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(path)

    def _read_pidfile(self, release_id: str) -> dict[str, int] | None:
        try:
            record = json.loads(self._pidfile(release_id).read_text())
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and isinstance(record.get("pid"), int) else None

    def _recorded_pid(self, release_id: str) -> int | None:
        record = self._read_pidfile(release_id)
        if record and self._is_ours(release_id, record):
            return record["pid"]
        return None

    def _recorded_ids(self) -> set[str]:
        return {p.stem for p in self._state_dir.glob("*.json")}


def _handle(spec: ReleaseSpec, ref: str) -> ReleaseHandle:
    return ReleaseHandle(spec.deployment_id, spec.project_id, spec.port, ref)


def _account_for(spec: ReleaseSpec) -> Account | None:
    if spec.run_as is None or os.geteuid() != 0:
        return None
    account = lookup(spec.run_as)
    if account is None:
        raise PlatformError(
            f"system user {spec.run_as} does not exist", code="project_user_missing"
        )
    return account
