"""`python -m tests.fakes.github --port PORT` serves a seeded demo world and says how to use it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fakes.github import GitHubSimulator
from tests.fakes.github.demo import seed_demo
from tests.fakes.github.testkit import git, git_env
from tests.support.http_wait import wait_for_http

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _read_banner(proc: subprocess.Popen[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    while "control API" not in fields and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        key, sep, value = line.strip().partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def test_standalone_demo_prints_app_credentials_and_serves_the_world() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.github", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = _read_banner(proc)
        for key in ("App id", "App slug", "client id", "client secret", "webhook secret"):
            assert banner.get(key), f"{key} missing from {banner}"
        key_path = Path(banner["private key"])
        assert key_path.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
        assert re.fullmatch(r"[\w-]+, [\w-]+.*", banner["users"])
        world = httpx.get(f"http://127.0.0.1:{port}/_sim/world", timeout=5).json()
        assert world["apps"][0]["id"] == int(banner["App id"])
        assert {"octo-alice", "octo-bob"} <= set(world["users"])
        page = httpx.get(
            f"http://127.0.0.1:{port}/apps/{banner['App slug']}/installations/new",
            params={"login": "octo-alice"},
            timeout=5,
        )
        assert page.status_code == 200 and 'data-login="acme-corp"' in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_demo_repositories_are_deployable_apps(tmp_path: Path) -> None:
    """Clone a demo repository over git smart-HTTP and start it as NanoScale would."""
    sim = GitHubSimulator(root=tmp_path / "github")
    served = sim.serve()
    try:
        seed_demo(sim)
        env = git_env(served.base_url, None, tmp_path)
        clone = tmp_path / "blog"
        cloned = git("clone", "-q", f"{served.base_url}/octo-alice/blog.git", str(clone), env=env)
        assert cloned.returncode == 0, cloned.stderr
        port = _free_port()
        app = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=clone,
            env={"PORT": str(port), "PATH": "/usr/bin:/bin"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert wait_for_http(port)
            answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            assert answer.status_code == 200 and answer.text == "Hello from blog!\n"
            assert httpx.head(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        finally:
            app.terminate()
            app.wait(timeout=10)
    finally:
        served.stop()
        sim.close()
