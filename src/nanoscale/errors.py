"""The error tree. Every error a user can see is a `NanoScaleError`.

Each error carries a stable `code` (shown by the dashboard and API clients), a human `message`,
an optional `field` (the input that was wrong), the HTTP `status` the API maps it to, and
`responsibility`: "user" when the user's input or code is at fault, "platform" when NanoScale or
its host is. Messages never contain secrets.

    NanoScaleError
    ├── ConfigError            startup configuration is invalid (process exits)
    ├── InvalidInput       422 malformed or semantically invalid input
    │   └── InvalidFields      several fields at once (`errors`), so a form is fixed in one go
    ├── Unauthenticated    401 no or expired session / token
    ├── Forbidden          403 authenticated but not allowed (also CSRF failures)
    ├── NotFound           404 no such object (or not visible to this user)
    ├── Conflict           409 state conflict (duplicate name, setup already done)
    ├── PayloadTooLarge    413 body over the configured limit
    ├── RateLimited        429 throttled; `retry_after` seconds
    ├── UserCodeError          the user's build or app failed (deployment errors)
    ├── Cancelled              a deployment stopped because someone asked (never an HTTP answer)
    └── PlatformError      503 NanoScale or its host failed (disk, proxy, git host unreachable)
        ├── SecretKeyMissing   a ciphertext names a key id that is not configured
        └── LeaseLost          the worker lost its project lease mid-deployment

The JSON body of every error answer is built by `error_body`; `is_api_path` tells the JSON
API's paths from the dashboard's (which answer with HTML).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

API_PREFIX = "/api"


class Responsibility(StrEnum):
    """Whose fault an error is: the user's input or code, or NanoScale and its host."""

    USER = "user"
    PLATFORM = "platform"


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The JSON body of an error answer: `{"error": {"code", "message", "field"}}`."""
    return {"error": {"code": code, "message": message, "field": field}}


def error_body_of(exc: NanoScaleError) -> dict[str, Any]:
    """`error_body` for an exception; several fields at once also list each under `errors`."""
    body = error_body(exc.code, exc.message, exc.field)
    if isinstance(exc, InvalidFields):
        body["error"]["errors"] = [
            error_body(e.code, e.message, e.field)["error"] for e in exc.errors
        ]
    return body


def is_api_path(path: str) -> bool:
    """True for the JSON API's paths (errors answer in JSON there, HTML elsewhere)."""
    return path == API_PREFIX or path.startswith(f"{API_PREFIX}/")


class NanoScaleError(Exception):
    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "error"
    responsibility: ClassVar[Responsibility] = Responsibility.USER

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field


class ConfigError(NanoScaleError):
    status = 500
    default_code = "config_invalid"
    responsibility = Responsibility.PLATFORM


class InvalidInput(NanoScaleError):
    status = 422
    default_code = "invalid_input"


class InvalidFields(InvalidInput):
    """Every problem found in one submission: `errors` lists them (field, message, code);
    `field`/`message` repeat the first, for clients that read one."""

    def __init__(self, errors: list[InvalidInput]) -> None:
        if not errors:
            raise ValueError("InvalidFields needs at least one error")
        super().__init__(errors[0].message, code=errors[0].code, field=errors[0].field)
        self.errors = errors


def raise_all(errors: list[InvalidInput]) -> None:
    """Raise nothing, the one error, or all of them together."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InvalidFields(errors)


def field_errors_of(exc: NanoScaleError) -> list[NanoScaleError]:
    """The individual errors an exception stands for (one, or an InvalidFields' list)."""
    return list(exc.errors) if isinstance(exc, InvalidFields) else [exc]


class Unauthenticated(NanoScaleError):
    status = 401
    default_code = "unauthenticated"


class Forbidden(NanoScaleError):
    status = 403
    default_code = "forbidden"


class NotFound(NanoScaleError):
    status = 404
    default_code = "not_found"


class Conflict(NanoScaleError):
    status = 409
    default_code = "conflict"


class PayloadTooLarge(NanoScaleError):
    status = 413
    default_code = "payload_too_large"


class RateLimited(NanoScaleError):
    status = 429
    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class UserCodeError(NanoScaleError):
    status = 422
    default_code = "user_code_failed"


class Cancelled(NanoScaleError):
    """Raised inside a running deployment at the next step boundary after a cancel request
    (or an orchestrator shutdown); the deployment ends `cancelled`, not `failed`."""

    status = 409
    default_code = "cancelled"


class PlatformError(NanoScaleError):
    status = 503
    default_code = "platform_error"
    responsibility = Responsibility.PLATFORM


class SecretKeyMissing(PlatformError):
    default_code = "secret_key_missing"


class LeaseLost(PlatformError):
    default_code = "lease_lost"
