"""Pytest fixtures around the real-Caddy harness (registered in tests/conftest.py).

`caddy`: a fresh Caddy per test (admin API + HTTP listener on free loopback ports), stopped
afterwards. Use `make_settings(**caddy.settings_overrides())` to point NanoScale at it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.caddy import CaddyInstance, running_caddy


@pytest.fixture
def caddy() -> Iterator[CaddyInstance]:
    with running_caddy() as instance:
        yield instance
