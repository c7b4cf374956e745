"""The one way out to GitHub: every REST and OAuth call NanoScale makes goes through here.

- App JWT (RS256, `iat` 60 s in the past for clock skew, 9 minutes of life).
- Installation tokens narrowed at mint time (`repository_ids`, `permissions`), cached in memory
  only, until 5 minutes before they expire; never persisted.
- User-token OAuth grants (code + PKCE verifier, refresh) and grant revocation.
- Timeouts; retries with backoff on 5xx and network errors; GitHub's primary and secondary
  rate limits honoured (no call is made before the announced reset) and surfaced as
  `GitHubRateLimited` (503 + Retry-After); other failures mapped to `github.errors`.

Plain httpx rather than an SDK: we need conditional requests, Link pagination, narrowed tokens
and exact error sorting, and tolerant parsing of only the fields we use (validated in the
tests against GitHub's OpenAPI description). Time comes from `clock`, so a simulated GitHub's
clock can drive token expiry in tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from nanoscale.github.errors import (
    GitHubAccessLost,
    GitHubAuthFailed,
    GitHubRateLimited,
    GitHubRejected,
    GitHubUnavailable,
)
from nanoscale.logs import get_logger
from nanoscale.settings import Settings

log = get_logger("nanoscale.github.gateway")

API_VERSION = "2022-11-28"
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 540
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
RETRIES = 3
BACKOFF_SECONDS = 0.5
MAX_INLINE_WAIT_SECONDS = 2.0  # a shorter Retry-After is waited out; a longer one is surfaced
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Page:
    status: int  # 200, or 304 when the ETag still matches
    body: Any
    etag: str | None
    next_url: str | None


@dataclass(frozen=True)
class TokenGrant:
    """A user-to-server token pair as GitHub's token endpoint returns it."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None
    refresh_expires_at: datetime | None


@dataclass(frozen=True)
class _CachedToken:
    token: str = field(repr=False)
    expires_at: datetime


class OAuthError(Exception):
    """The token endpoint answered with an `error` (GitHub uses HTTP 200 for these)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class GitHubGateway:
    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = system_clock,
        timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._sleep = sleep
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": "NanoScale", "X-GitHub-Api-Version": API_VERSION},
            follow_redirects=False,
        )
        self._lock = threading.Lock()
        self._tokens: dict[tuple[Any, ...], _CachedToken] = {}
        self._blocked_until: dict[str, datetime] = {}
        self._app_slug: str | None = None
        self.calls = 0  # requests sent (benchmarks and tests read this)
        self.minted = 0  # installation tokens minted

    def close(self) -> None:
        self._client.close()

    # -- credentials ------------------------------------------------------------------------

    def app_jwt(self) -> str:
        now = int(self.clock().timestamp())
        claims = {
            "iat": now - JWT_BACKDATE_SECONDS,
            "exp": now + JWT_LIFETIME_SECONDS,
            "iss": str(self.settings.github_app_id),
        }
        return jwt.encode(claims, self.settings.github_private_key_pem(), algorithm="RS256")

    def installation_token(
        self, installation_id: int, *, repo_ids: list[int], permissions: dict[str, str]
    ) -> str:
        """A token for exactly these repositories and permissions (cached until 5 minutes
        before it expires)."""
        key = (installation_id, tuple(sorted(repo_ids)), tuple(sorted(permissions.items())))
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.expires_at - TOKEN_REFRESH_MARGIN > self.clock():
                return cached.token
        body = {"repository_ids": sorted(repo_ids), "permissions": permissions}
        data = self.request(
            "POST",
            f"/app/installations/{installation_id}/access_tokens",
            auth=f"Bearer {self.app_jwt()}",
            json=body,
            rate_key="app",
        ).json()
        token = _CachedToken(str(data["token"]), parse_time(str(data["expires_at"])))
        with self._lock:
            self._tokens[key] = token
            self.minted += 1
        log.info("github.installation_token.minted", installation_id=installation_id)
        return token.token

    def forget_installation_tokens(self, installation_id: int) -> None:
        with self._lock:
            for key in [k for k in self._tokens if k[0] == installation_id]:
                del self._tokens[key]

    def app_slug(self) -> str:
        if self._app_slug is None:
            data = self.request("GET", "/app", auth=f"Bearer {self.app_jwt()}", rate_key="app")
            self._app_slug = str(data.json()["slug"])
        return self._app_slug

    # -- OAuth (user-to-server tokens) -----------------------------------------------------

    def exchange_code(self, *, code: str, verifier: str, redirect_uri: str) -> TokenGrant:
        return self._token_grant(
            {"code": code, "code_verifier": verifier, "redirect_uri": redirect_uri}
        )

    def refresh_user_token(self, refresh_token: str) -> TokenGrant:
        return self._token_grant({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def _token_grant(self, params: dict[str, str]) -> TokenGrant:
        secret = self.settings.github_app_client_secret
        assert secret is not None
        form = {
            "client_id": str(self.settings.github_app_client_id),
            "client_secret": secret.get_secret_value(),
            **params,
        }
        url = f"{self.settings.github_url}/login/oauth/access_token"
        response = self._send("POST", url, data=form, headers={"Accept": "application/json"})
        try:
            data = response.json()
        except ValueError:
            raise GitHubUnavailable(
                "GitHub's token endpoint answered something unreadable"
            ) from None
        if "error" in data or "access_token" not in data:
            raise OAuthError(str(data.get("error", "no_token")))
        now = self.clock()
        return TokenGrant(
            access_token=str(data["access_token"]),
            refresh_token=data.get("refresh_token") or None,
            expires_at=_after(now, data.get("expires_in")),
            refresh_expires_at=_after(now, data.get("refresh_token_expires_in")),
        )

    def revoke_grant(self, access_token: str) -> bool:
        """DELETE /applications/{client_id}/grant; False if GitHub no longer knew the grant."""
        secret = self.settings.github_app_client_secret
        assert secret is not None
        client_id = str(self.settings.github_app_client_id)
        try:
            self.request(
                "DELETE",
                f"/applications/{client_id}/grant",
                auth=httpx.BasicAuth(client_id, secret.get_secret_value()),
                json={"access_token": access_token},
                rate_key="app",
            )
        except (GitHubAccessLost, GitHubRejected):
            return False
        return True

    # -- REST --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        auth: str | httpx.Auth,
        rate_key: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        etag: str | None = None,
    ) -> httpx.Response:
        """One API call with retries; a 2xx or 304 response, or a mapped error."""
        url = path_or_url
        if not url.startswith(("http://", "https://")):
            url = f"{self.settings.github_api_url}{path_or_url}"
        headers = {"Accept": "application/vnd.github+json"}
        if isinstance(auth, str):
            headers["Authorization"] = auth
        if etag:
            headers["If-None-Match"] = etag
        self._check_blocked(rate_key)
        response = self._send(
            method,
            url,
            json=json,
            params=params,
            headers=headers,
            auth=None if isinstance(auth, str) else auth,
            rate_key=rate_key,
        )
        if response.status_code < 300 or response.status_code == 304:
            return response
        raise self._error(response, rate_key)

    def pages(
        self, path: str, *, auth: str, rate_key: str, etags: list[str | None] | None = None
    ) -> Iterator[Page]:
        """Follow Link rel="next" (100 per page); page i is sent with `etags[i]` if given."""
        url: str | None = f"{self.settings.github_api_url}{path}"
        params: dict[str, Any] | None = {"per_page": 100}
        index = 0
        while url is not None:
            etag = etags[index] if etags is not None and index < len(etags) else None
            response = self.request(
                "GET", url, auth=auth, rate_key=rate_key, params=params, etag=etag
            )
            next_url = response.links.get("next", {}).get("url")
            body = None if response.status_code == 304 else response.json()
            yield Page(response.status_code, body, response.headers.get("etag"), next_url)
            if response.status_code == 304 and etags is not None and index + 1 < len(etags):
                # Unchanged page: the next page's URL is the one we followed last time.
                next_url = _page_url(path, index + 2, self.settings.github_api_url)
            url, params, index = next_url, None, index + 1

    # -- transport, retries, rate limits ----------------------------------------------------

    def _send(self, method: str, url: str, *, rate_key: str = "oauth", **kw: Any) -> httpx.Response:
        delay = BACKOFF_SECONDS
        for attempt in range(1, RETRIES + 1):
            try:
                self.calls += 1
                response = self._client.request(method, url, **kw)
            except httpx.TransportError as exc:
                log.warning("github.request.network_error", error_type=type(exc).__name__,
                            attempt=attempt)  # fmt: skip
                if attempt == RETRIES:
                    raise GitHubUnavailable(
                        "GitHub did not answer in time; try again shortly"
                    ) from None
            else:
                if response.status_code < 500:
                    wait = _short_retry_after(response)
                    if wait is None or attempt == RETRIES:
                        return response
                    self._sleep(wait)
                    continue
                log.warning("github.request.server_error", status=response.status_code,
                            attempt=attempt)  # fmt: skip
                if attempt == RETRIES:
                    return response
            self._sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _check_blocked(self, rate_key: str) -> None:
        until = self._blocked_until.get(rate_key)
        if until is not None:
            left = (until - self.clock()).total_seconds()
            if left > 0:
                raise GitHubRateLimited(
                    "GitHub's rate limit for NanoScale is exhausted; try again later",
                    retry_after=max(1, int(left + 0.999)),
                )

    def _error(self, response: httpx.Response, rate_key: str) -> Exception:  # noqa: PLR0911
        status = response.status_code
        message = _github_message(response)
        retry_after = _rate_limit_wait(response, self.clock())
        if retry_after is not None:
            self._blocked_until[rate_key] = self.clock() + timedelta(seconds=retry_after)
            log.warning("github.rate_limited", rate_key=rate_key, retry_after=retry_after)
            return GitHubRateLimited(
                "GitHub's rate limit for NanoScale is exhausted; try again later",
                retry_after=retry_after,
            )
        if status >= 500:
            return GitHubUnavailable(f"GitHub is having trouble (HTTP {status}); try again shortly")
        if status == 401 and rate_key == "app":
            log.error("github.app_jwt_rejected", github_message=message)
            return GitHubAuthFailed(
                "GitHub refused the App's credentials: check NANOSCALE_GITHUB_APP_ID and the "
                "private key, and that this server's clock is right (JWTs allow little skew)",
                code="github_app_auth_failed",
            )
        if status == 401:
            return GitHubAuthFailed("GitHub refused NanoScale's credentials")
        if status in (403, 404, 410):
            return GitHubAccessLost("the GitHub object is gone or no longer accessible")
        if status == 422:
            return GitHubRejected(f"GitHub refused the request: {message}")
        return GitHubUnavailable(f"GitHub answered HTTP {status}")


def _github_message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message", "")
    except (ValueError, AttributeError):
        message = ""
    return str(message)[:200]


def _rate_limit_wait(response: httpx.Response, now: datetime) -> int | None:
    """Seconds to wait if this is a primary or secondary rate limit answer, else None."""
    if response.status_code not in (403, 429):
        return None
    retry_after = response.headers.get("retry-after")
    if retry_after is not None and retry_after.isdigit():
        return max(1, int(retry_after))
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = response.headers.get("x-ratelimit-reset", "")
        if reset.isdigit():
            return max(1, int(reset) - int(now.timestamp()))
        return 60
    if response.status_code == 429 or "rate limit" in _github_message(response).lower():
        return 60  # GitHub: without headers, wait at least a minute
    return None


def _short_retry_after(response: httpx.Response) -> float | None:
    if response.status_code not in (403, 429):
        return None
    value = response.headers.get("retry-after", "")
    if value.isdigit() and int(value) <= MAX_INLINE_WAIT_SECONDS:
        return float(value)
    return None


def _after(now: datetime, seconds: Any) -> datetime | None:
    return now + timedelta(seconds=int(seconds)) if seconds else None


def _page_url(path: str, page: int, api_url: str) -> str:
    return f"{api_url}{path}?per_page=100&page={page}"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
