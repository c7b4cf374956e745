"""Where the configured GitHub serves avatars: the one image origin the dashboard's CSP allows
besides its own, and the check that a stored `avatar_url` is on it.

GitHub's "Get the authenticated user" (`GET /user`, REST API → Users) returns `avatar_url`:
on github.com an address on https://avatars.githubusercontent.com, on GitHub Enterprise Server
one on the server's own host (its `/avatars/` path)."""

from __future__ import annotations

from urllib.parse import urlsplit

GITHUB_COM_HOST = "github.com"
GITHUB_COM_AVATARS = "https://avatars.githubusercontent.com"
MAX_AVATAR_URL = 1024


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def avatar_origin(github_url: str) -> str:
    """The avatar origin of the GitHub at `github_url` (NANOSCALE_GITHUB_URL)."""
    if urlsplit(github_url).netloc.lower() == GITHUB_COM_HOST:
        return GITHUB_COM_AVATARS
    return _origin(github_url)


def shown_avatar(url: object, *, github_url: str) -> str | None:
    """`url` when it is an avatar address of the configured GitHub, else None (the dashboard
    then shows the login's first letter): nothing else may load images into the page."""
    if not isinstance(url, str) or not url or len(url) > MAX_AVATAR_URL:
        return None
    if not url.startswith(("https://", "http://")) or any(c in url for c in "\"'<> \\"):
        return None
    return url if _origin(url) == avatar_origin(github_url) else None
