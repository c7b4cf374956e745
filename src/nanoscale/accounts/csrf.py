"""CSRF defence for cookie-authenticated, state-changing requests.

Two independent checks, both required: the per-session token (sent back in the
`X-CSRF-Token` header or a `csrf_token` form field) and the request's Origin (or, without
one, its Referer), which must be this orchestrator: the public base URL or the URL the
request itself was addressed to. The latter is built from the Host header, which
`host_check.HostCheckMiddleware` has already limited to our own host names before any route
runs, so both expected origins are allowed origins: a DNS-rebound name never gets here.
Bearer-token requests need neither (browsers never attach them on their own).
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from nanoscale.errors import Forbidden
from nanoscale.logs import get_logger

log = get_logger("nanoscale.accounts.csrf")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_origin(
    *, origin: str | None, referer: str | None, public_base_url: str, request_url: str
) -> None:
    """Refuse a request whose Origin/Referer names another site. Neither header: allowed
    (non-browser clients send none; the CSRF token still has to match)."""
    claimed = origin if origin is not None else referer
    if claimed is None:
        return
    allowed = {_origin_of(public_base_url), _origin_of(request_url)} - {None}
    if _origin_of(claimed) not in allowed:
        log.warning("auth.csrf.origin_rejected")
        raise Forbidden(
            "cross-site request refused (Origin does not match this server)", code="csrf_failed"
        )


def check_token(*, expected: str, presented: str | None) -> None:
    if not presented or not hmac.compare_digest(expected.encode(), presented.encode()):
        log.warning("auth.csrf.token_rejected")
        raise Forbidden(
            f"missing or wrong CSRF token: send the csrf_token from GET /api/auth/session "
            f"in the {CSRF_HEADER} header",
            code="csrf_failed",
            field=CSRF_HEADER,
        )


def check_csrf(
    *,
    expected: str,
    presented: str | None,
    origin: str | None,
    referer: str | None,
    public_base_url: str,
    request_url: str,
) -> None:
    """Both checks for a cookie-authenticated unsafe request; raises Forbidden (403)."""
    check_origin(
        origin=origin, referer=referer, public_base_url=public_base_url, request_url=request_url
    )
    check_token(expected=expected, presented=presented)
