"""Real Caddy accepts the HTTPS config NanoScale generates for public domains (validated
offline with `caddy validate`: no listener is opened and no certificate authority is asked)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from nanoscale.engine.proxy import Route
from nanoscale.engine.proxy.caddy_config import Listen, build_http_app
from tests.support.caddy import caddy_binary

pytestmark = pytest.mark.caddy


def test_caddy_validates_the_generated_https_config(tmp_path: Path) -> None:
    routes = [
        Route("p1", ("blog.example.com", "blog.localhost"), 8001, None),
        Route("p2", ("site.localhost",), None, tmp_path),
    ]
    config = {
        "admin": {"disabled": True},
        "storage": {"module": "file_system", "root": str(tmp_path / "data")},
        "apps": {"http": build_http_app(routes, Listen("", 80, 443))},
    }
    path = tmp_path / "caddy.json"
    path.write_text(json.dumps(config))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    result = subprocess.run(
        [caddy_binary(), "validate", "--config", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "enabling automatic HTTP->HTTPS redirects" in result.stderr
