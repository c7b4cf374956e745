"""How GitHub failures reach users: a NanoScale error with a stable code, never a bare 500 and
never a token. The sorting follows DESIGN habit 5: lost access, rate limits, outages."""

from __future__ import annotations

from nanoscale.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PlatformError,
    RateLimited,
    Responsibility,
)


class GitHubNotConfigured(PlatformError):
    status = 404
    default_code = "github_not_configured"


class GitHubUnavailable(PlatformError):
    """5xx, timeouts and network errors that outlived our retries."""

    default_code = "github_unavailable"


class GitHubRateLimited(RateLimited):
    """GitHub's primary or secondary rate limit: 503 with Retry-After (the operator's budget,
    not the caller's fault)."""

    status = 503
    default_code = "github_rate_limited"
    responsibility = Responsibility.PLATFORM


class GitHubAccessLost(NotFound):
    """GitHub answered 404 (or 403 without rate-limit text): the object is gone or hidden."""

    default_code = "github_access_lost"


class GitHubAuthFailed(PlatformError):
    """GitHub refused our credentials (401): an App key/JWT problem or a revoked token."""

    status = 502
    default_code = "github_auth_failed"


class GitHubReconnectNeeded(Conflict):
    default_code = "github_reconnect_needed"


class GitHubRejected(InvalidInput):
    """GitHub refused the request's content (422)."""

    default_code = "github_rejected"
