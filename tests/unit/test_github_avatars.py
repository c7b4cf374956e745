"""The avatar origin of the configured GitHub (the only image origin the dashboard's CSP adds)
and which stored `avatar_url` values the page may show."""

from __future__ import annotations

import pytest

from nanoscale.github.avatars import avatar_origin, shown_avatar
from nanoscale.http_middleware import content_security_policy


@pytest.mark.parametrize(
    ("github_url", "origin"),
    [
        ("https://github.com", "https://avatars.githubusercontent.com"),
        ("https://GitHub.com/", "https://avatars.githubusercontent.com"),
        ("https://ghe.example.com", "https://ghe.example.com"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
    ],
)
def test_avatar_origin_follows_the_configured_github(github_url: str, origin: str) -> None:
    assert avatar_origin(github_url) == origin


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://avatars.githubusercontent.com/u/583231?v=4", True),
        ("https://evil.example/u/1", False),
        ("https://avatars.githubusercontent.com.evil.example/u/1", False),
        ("http://avatars.githubusercontent.com/u/1", False),  # another origin (scheme)
        ("javascript:alert(1)", False),
        ('https://avatars.githubusercontent.com/u/1" onerror="x', False),
        ("https://avatars.githubusercontent.com/" + "a" * 1100, False),
        (None, False),
        (42, False),
    ],
)
def test_only_avatars_of_the_configured_github_are_shown(url: object, shown: bool) -> None:
    assert shown_avatar(url, github_url="https://github.com") == (url if shown else None)


def test_github_enterprise_avatars_come_from_the_server_itself() -> None:
    url = "https://ghe.example.com/avatars/u/7?v=4"
    assert shown_avatar(url, github_url="https://ghe.example.com") == url
    assert shown_avatar(url, github_url="https://github.com") is None


def test_csp_adds_only_the_given_image_origins() -> None:
    assert content_security_policy() == "frame-ancestors 'none'; img-src 'self' data:"
    assert content_security_policy(("https://avatars.githubusercontent.com",)) == (
        "frame-ancestors 'none'; img-src 'self' data: https://avatars.githubusercontent.com"
    )
