"""`python -m tests.fakes.github --port PORT` serves a seeded demo world and says how to use it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

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
