"""The `systemd` runtime (production hosts): one hardened unit per release, driven through
`systemctl`. systemd supervises (Restart=on-failure), keeps the process tree in the unit's
cgroup (so a stop leaves no orphan), and keeps releases running across orchestrator restarts.
Needs root: units go to /etc/systemd/system and env files are root-only.

Units are named `nanoscale-release-<project>-<deployment id>.service`; `adopt()` removes only
units under that prefix, so an operator's own `nanoscale-*` units are never stopped. Units
named before the prefix existed (`nanoscale-<project>-<id>.service`) are adopted through the
handle recorded in the database and keep running under their name. `start --no-block` returns
before the unit runs: a unit still `activating` counts as running (the health check decides).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from nanoscale.engine.loader_env import without_loader_vars
from nanoscale.engine.runtime.base import STATIC_REF, ReleaseHandle, ReleaseSpec
from nanoscale.engine.runtime.cgroups import ResourceLimits
from nanoscale.engine.runtime.spawn import RESERVED_VARS
from nanoscale.engine.runtime.systemd_unit import (
    UNIT_PREFIX,
    render_env_file,
    render_unit,
    unit_name,
)
from nanoscale.engine.runtime.users import check_workdir
from nanoscale.errors import PlatformError

UNIT_GLOB = f"{UNIT_PREFIX}*.service"
ANY_UNIT_RE = re.compile(r"nanoscale-[A-Za-z0-9_-]+\.service")  # ours, with or without prefix
# `is-active` states of a unit that is running or on its way there.
ALIVE_STATES = frozenset({"active", "activating", "reloading"})


class SystemdRuntime:
    def __init__(
        self,
        state_dir: Path,
        *,
        unit_dir: Path = Path("/etc/systemd/system"),
        systemctl: str = "systemctl",
        limits: ResourceLimits | None = None,
    ) -> None:
        self._limits = limits
        self._env_dir = state_dir / "env"
        self._unit_dir = unit_dir
        self._systemctl = systemctl

    def start(self, spec: ReleaseSpec) -> ReleaseHandle:
        if spec.static_root is not None or spec.start_command is None:
            return _handle(spec, STATIC_REF)
        name = unit_name(spec)
        # Ownership was given once by the pipeline, before tenant code ran; here the path is
        # only re-checked (systemd itself enters it as the unit's user).
        check_workdir(spec.workdir, spec.tree)
        env_file = self._write_env_file(name, spec)
        unit = render_unit(spec, user=spec.run_as, env_file=str(env_file), limits=self._limits)
        (self._unit_dir / name).write_text(unit)
        self._ctl("daemon-reload")
        self._ctl("start", "--no-block", name)
        return _handle(spec, name)

    def is_running(self, handle: ReleaseHandle) -> bool:
        if handle.ref == STATIC_REF:
            return True
        return self._active(handle.ref)

    def exit_code(self, handle: ReleaseHandle) -> int | None:
        """The unit's main process status (`ExecMainStatus`) once it is no longer active."""
        if handle.ref == STATIC_REF or self._active(handle.ref):
            return None
        result = subprocess.run(
            [self._systemctl, "show", "--property=ExecMainStatus", "--value", handle.ref],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        value = result.stdout.strip()
        return int(value) if result.returncode == 0 and value.lstrip("-").isdigit() else None

    def stop(self, handle: ReleaseHandle, *, grace_seconds: float = 10.0) -> None:
        """`systemctl stop` sends SIGTERM to the unit's cgroup and SIGKILL after the unit's
        TimeoutStopSec; then the unit and its env file are removed."""
        if handle.ref == STATIC_REF:
            return
        self._remove(handle.ref)

    def adopt(self, handles: list[ReleaseHandle], specs: list[ReleaseSpec]) -> list[ReleaseHandle]:
        wanted = {unit_name(s) for s in specs if s.start_command and s.static_root is None}
        for path in self._unit_dir.glob(UNIT_GLOB):
            if path.name not in wanted:
                self._remove(path.name)
        recorded = {h.deployment_id: h.ref for h in handles}
        adopted = []
        for spec in specs:
            name = unit_name(spec) if spec.start_command and spec.static_root is None else None
            legacy = recorded.get(spec.deployment_id, "")
            if name and self._active(name):
                adopted.append(_handle(spec, name))
            elif name and ANY_UNIT_RE.fullmatch(legacy) and self._active(legacy):
                adopted.append(_handle(spec, legacy))  # named before UNIT_PREFIX existed
            else:
                adopted.append(self.start(spec))
        return adopted

    def close(self) -> None:
        """Units keep running; systemd supervises them without the orchestrator."""

    # -- internals -----------------------------------------------------------------------------

    def _write_env_file(self, name: str, spec: ReleaseSpec) -> Path:
        self._env_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._env_dir / f"{name}.env"
        env = without_loader_vars({k: v for k, v in spec.env.items() if k not in RESERVED_VARS})
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(render_env_file(env))
        return path

    def _remove(self, name: str) -> None:
        if not ANY_UNIT_RE.fullmatch(name):
            raise ValueError(f"not a NanoScale unit: {name!r}")
        self._ctl("stop", name, check=False)
        (self._unit_dir / name).unlink(missing_ok=True)
        (self._env_dir / f"{name}.env").unlink(missing_ok=True)
        self._ctl("daemon-reload")

    def _active(self, name: str) -> bool:
        """Running, or still starting (`--no-block` start): `is-active` prints the state."""
        result = subprocess.run(
            [self._systemctl, "is-active", name],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        return result.stdout.strip() in ALIVE_STATES

    def _ctl(self, *args: str, check: bool = True) -> int:
        result = subprocess.run(
            [self._systemctl, *args], capture_output=True, text=True, check=False, timeout=120
        )
        if check and result.returncode != 0:
            raise PlatformError(
                f"systemctl {args[0]} failed: {result.stderr.strip()[:300]}",
                code="systemd_failed",
            )
        return result.returncode


def _handle(spec: ReleaseSpec, ref: str) -> ReleaseHandle:
    return ReleaseHandle(spec.deployment_id, spec.project_id, spec.port, ref)
