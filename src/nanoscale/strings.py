"""Small checks on untrusted text shared by several layers."""

from __future__ import annotations

# The same rules as JSON Schema patterns, for the OpenAPI description and edge validation.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"
NO_CONTROL_BUT_TAB_NEWLINE = r"^[^\x00-\x08\x0b-\x1f\x7f]*$"


def has_control_characters(text: str, *, allow: str = "") -> bool:
    """True if `text` has an ASCII control character (NUL included) not listed in `allow`.

    No id, name or URL we store may contain one, and PostgreSQL rejects NUL outright.
    """
    return any((ord(c) < 0x20 or ord(c) == 0x7F) and c not in allow for c in text)
