"""Messages for input refused by a declared pattern (the OpenAPI description's rules, checked
at the edge by pydantic): the user reads what the rule is, not the regular expression."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nanoscale.accounts.tokens import TOKEN_NAME_PATTERN
from nanoscale.accounts.users import USERNAME_PATTERN
from nanoscale.projects import schemas
from nanoscale.strings import NO_CONTROL_BUT_TAB_NEWLINE, NO_CONTROL_CHARACTERS

PATTERN_MESSAGES: dict[str, str] = {
    schemas.NAME: (
        "names are DNS labels: 1-63 letters, digits or '-', starting and ending with a "
        "letter or digit"
    ),
    USERNAME_PATTERN: (
        "usernames are 1-64 characters: letters, digits, '.', '_' or '-', starting with a "
        "letter or digit"
    ),
    TOKEN_NAME_PATTERN: "token names are 1-100 characters without control characters",
    schemas.URL: "not a valid URL",
    schemas.BRANCH: (
        "not a valid branch name: no spaces, control characters or any of "
        "~ ^ : ? * [ \\ ; & | $ ` ' \" < > ( ) { } !"
    ),
    schemas.RELATIVE_PATH: "not a valid relative path",
    schemas.URL_PATH: "must be a URL path starting with '/'",
    schemas.HOSTNAME: "not a valid hostname (e.g. app.example.com)",
    schemas.ENV_KEY: (
        "environment variable names are letters, digits and '_', not starting with a digit"
    ),
    schemas.ENV_VALUE: "environment values cannot contain NUL",
    NO_CONTROL_CHARACTERS: "control characters are not allowed",
    NO_CONTROL_BUT_TAB_NEWLINE: "control characters are not allowed",
}


def input_message(error: Mapping[str, Any]) -> str:
    """The message for one pydantic error: the rule's own words for a pattern mismatch."""
    if error.get("type") == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern", "")
        if pattern in PATTERN_MESSAGES:
            return PATTERN_MESSAGES[pattern]
    return str(error.get("msg", "invalid input"))
