"""Small checks on untrusted text shared by several layers."""

from __future__ import annotations


def has_control_characters(text: str, *, allow: str = "") -> bool:
    """True if `text` has an ASCII control character (NUL included) not listed in `allow`.

    No id, name or URL we store may contain one, and PostgreSQL rejects NUL outright.
    """
    return any((ord(c) < 0x20 or ord(c) == 0x7F) and c not in allow for c in text)
