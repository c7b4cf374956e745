"""The health check's `app_exited` error says how the app ended."""

from __future__ import annotations

import threading

import pytest

from nanoscale.engine.health_check import wait_healthy
from nanoscale.errors import UserCodeError


@pytest.mark.parametrize(
    ("code", "said"),
    [(3, "exited with code 3"), (-9, "was killed by signal 9 (SIGKILL)"), (None, "app exited")],
)
def test_an_app_that_died_is_reported_with_its_exit_status(code: int | None, said: str) -> None:
    with pytest.raises(UserCodeError) as caught:
        wait_healthy(
            url="http://127.0.0.1:9/",  # never asked: the app is already gone
            timeout=5,
            alive=lambda: False,
            cancel=threading.Event(),
            exit_code=lambda: code,
        )
    assert caught.value.code == "app_exited"
    assert said in caught.value.message
