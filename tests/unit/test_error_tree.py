"""The error tree: every deployment-ending error lives in `nanoscale.errors` with the right
responsibility, and one helper builds the JSON error body."""

from __future__ import annotations

from nanoscale import errors
from nanoscale.errors import (
    Cancelled,
    LeaseLost,
    NanoScaleError,
    PlatformError,
    Responsibility,
    error_body,
    is_api_path,
)


def test_lease_lost_is_the_platforms_fault() -> None:
    exc = LeaseLost("lost")
    assert isinstance(exc, PlatformError)
    assert exc.responsibility is Responsibility.PLATFORM
    assert exc.code == "lease_lost"


def test_cancelled_is_not_a_bad_request() -> None:
    exc = Cancelled("stop")
    assert isinstance(exc, NanoScaleError)
    assert exc.status != 400
    assert exc.code == "cancelled"


def test_every_error_class_is_drawn_in_the_tree() -> None:
    tree = errors.__doc__ or ""
    classes = [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, NanoScaleError)
    ]
    assert {c.__name__ for c in classes if c.__name__ not in tree} == set()


def test_error_body_has_the_documented_shape() -> None:
    assert error_body("not_found", "no such thing") == {
        "error": {"code": "not_found", "message": "no such thing", "field": None}
    }


def test_api_paths_are_told_from_dashboard_paths() -> None:
    assert is_api_path("/api")
    assert is_api_path("/api/projects")
    assert not is_api_path("/apiary")
    assert not is_api_path("/projects/api")
