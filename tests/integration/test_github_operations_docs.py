"""docs/github-operations.md stays true: every command it shows exists with the options shown
(and is run for real by the GitHub doctor and rotation tests), and its Caddy example is a
Caddyfile that the real Caddy accepts."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import run_cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "github-operations.md"
FENCE = re.compile(r"^[ \t]*```(\w+)\n(.*?)^[ \t]*```", re.S | re.M)
REAL_RUNS = {  # where each command shown is run for real
    ("doctor",): "tests/integration/test_github_doctor.py",
    ("github", "rotate-hook-secrets"): "tests/integration/test_github_secret_rotation.py",
    ("keys", "generate"): "this file",
    ("keys", "rotate"): "tests/integration/test_key_rotation.py",
}


def _blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(DOC.read_text()) if lang == language]


def _commands() -> list[list[str]]:
    lines = (line.strip() for block in _blocks("sh") for line in block.splitlines())
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


def test_the_docs_show_only_nanoscale_commands_that_exist_with_their_options() -> None:
    commands = _commands()
    assert len(commands) >= 5
    for words in commands:
        assert words[0] == "nanoscale", words
        path = tuple(w for w in words[1:] if not w.startswith("-") and not w.isdigit())
        assert path in REAL_RUNS, f"{words} is not exercised by a test"
        shown = run_cli(*path, "--help")
        assert shown.exit_code == 0, shown.output
        for option in (w for w in words if w.startswith("--")):
            assert option in shown.output, (words, shown.output)


def test_keys_generate_prints_a_usable_random_secret() -> None:
    first, second = run_cli("keys", "generate"), run_cli("keys", "generate")
    assert first.exit_code == second.exit_code == 0
    assert len(first.output.strip()) >= 43 and first.output != second.output


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed")
def test_the_caddy_example_is_a_valid_caddyfile(tmp_path: Path) -> None:
    (example,) = _blocks("caddyfile")
    path = tmp_path / "Caddyfile"
    path.write_text(example)
    adapted = subprocess.run(
        ["caddy", "adapt", "--config", str(path), "--adapter", "caddyfile"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert adapted.returncode == 0, adapted.stderr
    config = json.dumps(json.loads(adapted.stdout))
    assert "deploy.example.com" in config and "127.0.0.1:8000" in config
    assert "X-Nanoscale-Proxy-Secret" in config or "X-NanoScale-Proxy-Secret" in config


def test_the_nginx_example_meets_the_proxy_requirements() -> None:
    (example,) = _blocks("nginx")
    assert re.search(r"client_max_body_size\s+25m;", example)
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in example
    assert "X-NanoScale-Proxy-Secret" in example
    assert not re.search(r"^\s*(gzip|sub_filter)\s", example, re.M)  # bodies stay raw
