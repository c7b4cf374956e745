"""The `process` runtime with real child processes: start, env, crash restarts, stop, adopt."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from nanoscale.engine.runtime import procfs
from nanoscale.engine.runtime.process import ProcessRuntime
from tests.support.caddy_releases import app_spec, static_spec
from tests.support.http_wait import wait_for_http


def get(port: int, path: str = "/") -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5.0)


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def serving_pid(port: int) -> int | None:
    try:
        response = get(port)
    except httpx.TransportError:
        return None
    return int(response.text.split()[1]) if response.status_code == 200 else None


def crash(port: int) -> None:
    with pytest.raises(httpx.TransportError):
        get(port, "/crash")


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ProcessRuntime]:
    rt = ProcessRuntime(tmp_path / "state", backoff_initial=0.2, stable_seconds=60)
    yield rt
    rt.stop_all(grace_seconds=2)
    rt.close()


def test_release_serves_on_the_port_it_was_given(runtime: ProcessRuntime, tmp_path: Path) -> None:
    spec = app_spec(tmp_path, name="blue")
    handle = runtime.start(spec)
    assert wait_for_http(spec.port, timeout=15)
    assert get(spec.port).text.startswith("blue ")
    assert get(spec.port, "/env/PORT").text == str(spec.port)
    assert runtime.is_running(handle)
    assert "listening on" in spec.log_path.read_text()


def test_env_vars_reach_the_app_but_never_any_process_argv(
    runtime: ProcessRuntime, tmp_path: Path
) -> None:
    secret = "s3cr3t-value-do-not-leak"
    spec = app_spec(tmp_path, env={"API_TOKEN": secret})
    handle = runtime.start(spec)
    assert wait_for_http(spec.port, timeout=15)
    assert get(spec.port, "/env/API_TOKEN").text == secret
    grandchild = int(get(spec.port, "/spawn").text)
    tree = [*procfs.group_pids(int(handle.ref)), grandchild]
    assert len(tree) >= 2
    for pid in tree:
        assert secret not in " ".join(procfs.cmdline(pid))
    assert secret not in spec.log_path.read_text()
    assert secret not in "".join(p.read_text() for p in (tmp_path / "state").glob("*"))


def test_crashed_release_is_restarted_with_doubling_backoff(
    runtime: ProcessRuntime, tmp_path: Path
) -> None:
    spec = app_spec(tmp_path)
    runtime.start(spec)
    assert wait_for_http(spec.port, timeout=15)
    first = serving_pid(spec.port)
    crash(spec.port)
    assert eventually(lambda: serving_pid(spec.port) not in {None, first})
    second = serving_pid(spec.port)
    crash(spec.port)
    assert eventually(lambda: serving_pid(spec.port) not in {None, first, second})
    log = spec.log_path.read_text()
    assert "app exited with code 3; restarting in 0.2s" in log
    assert "app exited with code 3; restarting in 0.4s" in log


def test_stop_ends_the_whole_tree_including_children_that_left_the_group(
    runtime: ProcessRuntime, tmp_path: Path
) -> None:
    spec = app_spec(tmp_path)
    handle = runtime.start(spec)
    assert wait_for_http(spec.port, timeout=15)
    in_group = int(get(spec.port, "/spawn").text)
    escaped = int(get(spec.port, "/spawn?setsid=1").text)
    assert procfs.is_alive(in_group) and procfs.is_alive(escaped)
    runtime.stop(handle, grace_seconds=5)
    assert not procfs.is_alive(int(handle.ref))
    assert not procfs.is_alive(in_group)
    assert not procfs.is_alive(escaped)
    assert procfs.marked_pids(spec.deployment_id) == []
    assert not runtime.is_running(handle)


def test_stop_kills_an_app_that_ignores_sigterm(runtime: ProcessRuntime, tmp_path: Path) -> None:
    spec = app_spec(tmp_path, env={"IGNORE_SIGTERM": "1"})
    handle = runtime.start(spec)
    assert wait_for_http(spec.port, timeout=15)
    runtime.stop(handle, grace_seconds=0.3)
    assert not procfs.is_alive(int(handle.ref))
    assert serving_pid(spec.port) is None


def test_stopped_release_is_not_restarted(runtime: ProcessRuntime, tmp_path: Path) -> None:
    spec = app_spec(tmp_path)
    handle = runtime.start(spec)
    assert wait_for_http(spec.port, timeout=15)
    runtime.stop(handle, grace_seconds=5)
    time.sleep(0.6)  # several supervisor rounds and more than one backoff period
    assert procfs.marked_pids(spec.deployment_id) == []
    assert "restarting" not in spec.log_path.read_text()


def test_new_runtime_instance_readopts_a_live_release_and_supervises_it(tmp_path: Path) -> None:
    spec = app_spec(tmp_path)
    before = ProcessRuntime(tmp_path / "state", backoff_initial=0.2)
    handle = before.start(spec)
    assert wait_for_http(spec.port, timeout=15)
    before.close()  # orchestrator restart: the release keeps running

    after = ProcessRuntime(tmp_path / "state", backoff_initial=0.2)
    try:
        [adopted] = after.adopt([handle], [spec])
        assert adopted.ref == handle.ref
        assert serving_pid(spec.port) == int(handle.ref)
        assert after.is_running(adopted)
        crash(spec.port)  # the adopted release is supervised, too
        assert eventually(lambda: serving_pid(spec.port) not in {None, int(handle.ref)})
    finally:
        after.stop_all(grace_seconds=2)
        after.close()
    assert procfs.marked_pids(spec.deployment_id) == []


def test_adopt_restarts_a_release_whose_process_died(tmp_path: Path) -> None:
    spec = app_spec(tmp_path)
    before = ProcessRuntime(tmp_path / "state")
    handle = before.start(spec)
    assert wait_for_http(spec.port, timeout=15)
    before.close()
    os.killpg(int(handle.ref), signal.SIGKILL)
    assert eventually(lambda: _reap(int(handle.ref)))

    after = ProcessRuntime(tmp_path / "state")
    try:
        [restarted] = after.adopt([handle], [spec])
        assert restarted.ref != handle.ref
        assert wait_for_http(spec.port, timeout=15)
        assert serving_pid(spec.port) == int(restarted.ref)
    finally:
        after.stop_all(grace_seconds=2)
        after.close()


def test_adopt_stops_releases_that_are_no_longer_wanted(tmp_path: Path) -> None:
    old, current = app_spec(tmp_path, name="old"), app_spec(tmp_path, name="current")
    before = ProcessRuntime(tmp_path / "state")
    old_handle, handle = before.start(old), before.start(current)
    assert wait_for_http(old.port, timeout=15) and wait_for_http(current.port, timeout=15)
    before.close()

    after = ProcessRuntime(tmp_path / "state")
    try:
        after.adopt([old_handle, handle], [current])
        assert procfs.marked_pids(old.deployment_id) == []
        assert serving_pid(current.port) == int(handle.ref)
    finally:
        after.stop_all(grace_seconds=2)
        after.close()


def test_static_release_starts_no_process(runtime: ProcessRuntime, tmp_path: Path) -> None:
    spec = static_spec(tmp_path)
    handle = runtime.start(spec)
    assert handle.ref == "static"
    assert runtime.is_running(handle)
    assert not (tmp_path / "state" / f"{spec.deployment_id}.json").exists()
    runtime.stop(handle)


def _reap(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # our child: collect the zombie
        os.waitpid(pid, os.WNOHANG)
    return not procfs.is_alive(pid)


def test_adopt_without_pidfile_replaces_the_lost_release_instead_of_clashing(
    tmp_path: Path,
) -> None:
    spec = app_spec(tmp_path)
    before = ProcessRuntime(tmp_path / "state")
    handle = before.start(spec)
    assert wait_for_http(spec.port, timeout=15)
    before.close()
    (tmp_path / "state" / f"{spec.deployment_id}.json").unlink()

    after = ProcessRuntime(tmp_path / "state")
    try:
        [restarted] = after.adopt([handle], [spec])
        assert eventually(lambda: _reap(int(handle.ref)))
        assert wait_for_http(spec.port, timeout=15)
        assert serving_pid(spec.port) == int(restarted.ref) != int(handle.ref)
    finally:
        after.stop_all(grace_seconds=2)
        after.close()
