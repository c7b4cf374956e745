"""Random bearer secrets and their stored form (a SHA-256 hex digest).

Session cookies and API tokens carry 256 random bits, so a plain SHA-256 (not a slow KDF)
is enough: a stolen database row cannot be turned back into a usable secret.
"""

from __future__ import annotations

import hashlib
import secrets


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
