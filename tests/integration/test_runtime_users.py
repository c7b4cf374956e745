"""Per-project system users, and releases running as them when the orchestrator is root."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nanoscale.engine.runtime.process import ProcessRuntime
from nanoscale.engine.runtime.users import (
    ensure_project_user,
    project_user_name,
    remove_project_user,
)
from tests.support.caddy_releases import app_spec
from tests.support.http_wait import wait_for_http

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="creating users needs root")


def test_user_names_are_short_distinct_and_prefixed() -> None:
    long_a, long_b = "a" * 60 + "-one", "a" * 60 + "-two"
    names = {project_user_name(n) for n in ("blog", "My Blog!", long_a, long_b)}
    assert "ns-blog" in names and "ns-my-blog" in names
    assert len(names) == 4
    assert all(len(n) <= 32 and n.startswith("ns-") for n in names)


@pytest.fixture
def project_name() -> Iterator[str]:
    name = f"rt-{uuid.uuid4().hex[:8]}"
    yield name
    remove_project_user(name)


@needs_root
def test_project_user_is_a_nologin_system_user_without_home(project_name: str) -> None:
    user = ensure_project_user(project_name)
    assert user == project_user_name(project_name)
    entry = pwd.getpwnam(user)
    assert entry.pw_shell.endswith("nologin")
    assert entry.pw_uid < 1000
    assert not Path(entry.pw_dir).exists()
    assert ensure_project_user(project_name) == user  # idempotent
    remove_project_user(project_name)
    with pytest.raises(KeyError):
        pwd.getpwnam(user)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory project users can reach (pytest's tmp dirs are root-only)."""
    path = Path(tempfile.mkdtemp(prefix="nanoscale-rt-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@needs_root
def test_release_runs_as_the_project_user(project_name: str, open_dir: Path) -> None:
    user = ensure_project_user(project_name)
    assert user is not None
    spec = app_spec(open_dir, run_as=user, env={"SECRET": "x"})
    private = open_dir / "root-only.txt"
    private.write_text("root only")
    private.chmod(0o600)
    runtime = ProcessRuntime(open_dir / "state")
    try:
        handle = runtime.start(spec)
        assert wait_for_http(spec.port, timeout=15)
        status = Path(f"/proc/{handle.ref}/status").read_text()
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        assert set(uid_line.split()[1:]) == {str(pwd.getpwnam(user).pw_uid)}
        assert spec.workdir.stat().st_uid == pwd.getpwnam(user).pw_uid
        assert httpx.get(f"http://127.0.0.1:{spec.port}/env/SECRET", timeout=5).text == "x"
        denied = httpx.get(f"http://127.0.0.1:{spec.port}/read?{private}", timeout=5)
        assert denied.status_code == 403
    finally:
        runtime.stop_all(grace_seconds=2)
        runtime.close()
