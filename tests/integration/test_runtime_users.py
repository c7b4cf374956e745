"""Per-project system users, and releases running as them when the orchestrator is root."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nanoscale.engine.runtime.process import ProcessRuntime
from nanoscale.engine.runtime.users import (
    ensure_project_user,
    give_tree_to,
    lookup,
    project_user_name,
    remove_project_user,
)
from nanoscale.errors import PlatformError
from tests.support.caddy_releases import app_spec
from tests.support.http_wait import wait_for_http

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="creating users needs root")


def test_user_names_are_short_distinct_prefixed_and_carry_the_project_id() -> None:
    long_a, long_b = "a" * 60 + "-one", "a" * 60 + "-two"
    ids = [uuid.uuid4().hex for _ in range(4)]
    names = {
        project_user_name(n, i)
        for n, i in zip(("blog", "My Blog!", long_a, long_b), ids, strict=True)
    }
    assert f"ns-blog-{ids[0][:8]}" in names and f"ns-my-blog-{ids[1][:8]}" in names
    assert len(names) == 4
    assert all(len(n) <= 32 and n.startswith("ns-") for n in names)
    # A later project of the same name never gets the earlier one's account name.
    assert project_user_name("blog", uuid.uuid4().hex) != project_user_name("blog", ids[0])


@pytest.fixture
def project() -> Iterator[tuple[str, str]]:
    name, project_id = f"rt-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    yield name, project_id
    remove_project_user(name, project_id)


@needs_root
def test_project_user_is_a_nologin_system_user_without_home(project: tuple[str, str]) -> None:
    user = ensure_project_user(*project)
    assert user == project_user_name(*project)
    entry = pwd.getpwnam(user)
    assert entry.pw_shell.endswith("nologin")
    assert entry.pw_uid < 1000
    assert not Path(entry.pw_dir).exists()
    assert ensure_project_user(*project) == user  # idempotent
    remove_project_user(*project)
    with pytest.raises(KeyError):
        pwd.getpwnam(user)


@needs_root
def test_an_existing_account_of_the_same_name_is_refused_not_adopted(
    project: tuple[str, str],
) -> None:
    """A leftover account (a deleted project's that failed to delete, or anyone's) with the
    name NanoScale would pick is never silently reused for a new project."""
    name = project_user_name(*project)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--comment", "left behind", name],
        check=True,
    )
    try:
        with pytest.raises(PlatformError) as refused:
            ensure_project_user(*project)
        assert refused.value.code == "project_user_conflict"
        remove_project_user(*project)  # not ours: left alone
        assert pwd.getpwnam(name).pw_gecos == "left behind"
    finally:
        subprocess.run(["userdel", name], check=False)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory project users can reach (pytest's tmp dirs are root-only)."""
    path = Path(tempfile.mkdtemp(prefix="nanoscale-rt-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@needs_root
def test_release_runs_as_the_project_user(project: tuple[str, str], open_dir: Path) -> None:
    user = ensure_project_user(*project)
    assert user is not None
    spec = app_spec(open_dir, run_as=user, env={"SECRET": "x"})
    account = lookup(user)
    assert account is not None
    give_tree_to(spec.workdir, account)  # the pipeline's step, once, before any tenant code
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


@needs_root
def test_a_freed_uid_that_still_runs_a_process_is_not_given_to_a_new_project(
    project: tuple[str, str],
) -> None:
    """An account force-deleted while its process ran frees its uid; the next account may
    get that uid and would then own the old process. NanoScale refuses such an account."""
    old = (f"rt-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex)
    old_user = ensure_project_user(*old)
    assert old_user is not None
    old_account = lookup(old_user)
    assert old_account is not None
    leftover = subprocess.Popen(
        ["sleep", "600"], user=old_account.uid, group=old_account.gid, extra_groups=[]
    )
    try:
        subprocess.run(["userdel", "--force", old_user], check=True, capture_output=True)
        try:
            created = ensure_project_user(*project)
        except PlatformError as exc:
            assert exc.code == "project_user_conflict"
            assert f"uid {old_account.uid}" in exc.message
            assert lookup(project_user_name(*project)) is None  # removed again
        else:
            assert created is not None
            fresh = lookup(created)
            assert fresh is not None
            if fresh.uid == old_account.uid:
                pytest.fail("a uid with a running process was given to a new project")
            pytest.skip("useradd picked another uid (a parallel run took the freed one)")
    finally:
        leftover.kill()
        leftover.wait()
