"""Helpers to run real releases of the backend app (tests/support/caddy_backend_app.py)
through NanoScale's runtime, for runtime, proxy and zero-downtime tests and the benchmark."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

from nanoscale.engine.runtime.base import ReleaseSpec
from tests.support.ports import free_port

APP_SOURCE = Path(__file__).with_name("caddy_backend_app.py")
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "python3"


def app_workdir(parent: Path, name: str) -> Path:
    workdir = parent / name
    workdir.mkdir(parents=True)
    shutil.copy(APP_SOURCE, workdir / "app.py")
    return workdir


def app_spec(
    parent: Path,
    *,
    name: str = "app",
    project: str = "demo",
    env: Mapping[str, str] | None = None,
    run_as: str | None = None,
    port: int | None = None,
) -> ReleaseSpec:
    """A process release of the backend app in `parent/<name>` on a fresh port."""
    deployment_id = f"d{uuid.uuid4().hex[:12]}"
    return ReleaseSpec(
        project_id=project,
        project_name=project,
        deployment_id=deployment_id,
        workdir=app_workdir(parent, f"{name}-{deployment_id}"),
        start_command=f"exec {PYTHON} app.py",
        static_root=None,
        env={"APP_NAME": name, **(env or {})},
        port=port or free_port(),
        run_as=run_as,
        log_path=parent / "logs" / f"{deployment_id}.log",
    )


def static_spec(
    parent: Path, *, project: str = "site", html: str = "<h1>hello</h1>"
) -> ReleaseSpec:
    root = parent / f"static-{uuid.uuid4().hex[:8]}"
    root.mkdir(parents=True)
    (root / "index.html").write_text(html)
    return ReleaseSpec(
        project_id=project,
        project_name=project,
        deployment_id=f"d{uuid.uuid4().hex[:12]}",
        workdir=root,
        start_command=None,
        static_root=root,
        env={},
        port=0,
        run_as=None,
        log_path=parent / "logs" / "static.log",
    )
