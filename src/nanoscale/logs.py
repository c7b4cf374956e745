"""Structured logging (structlog): JSON in production, readable console output in development.

Event names are stable and dotted (`deploy.step.finished`). Secrets are never passed to the
logger; `redact_secrets` is a backstop that masks values under secret-looking keys and
token-shaped strings in case one slips through.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = re.compile(
    r"pass(word)?|secret|token|authorization|cookie|private_key|credential|env_vars?$", re.I
)
_SECRET_VALUES = re.compile(
    r"(gh[pousr]_[A-Za-z0-9_]{16,}|ghs_[A-Za-z0-9_]+|x-access-token:[^\s\x40]+|"
    r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)|Basic\s+[A-Za-z0-9+/=]{8,}|Bearer\s+\S+)"
)
MASK = "***"


def redact_text(text: str) -> str:
    return _SECRET_VALUES.sub(MASK, text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: MASK if _SECRET_KEYS.search(str(k)) else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if _SECRET_KEYS.search(key):
            event_dict[key] = MASK
        else:
            event_dict[key] = _redact(event_dict[key])
    return event_dict


def configure_logging(*, production: bool, level: str = "info") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if production
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Tracebacks become text first, so the backstop sees (and masks) them too.
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
