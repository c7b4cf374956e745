"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from nanoscale.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 1024  # bounds hashing work per request

HASHER = PasswordHasher()  # argon2id; tests may swap in cheaper parameters
# Verified against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = HASHER.hash("nanoscale-dummy-password")


def validate_password(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"passwords need at least {MIN_LENGTH} characters", field=field)
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"passwords are at most {MAX_LENGTH} characters", field=field)


def hash_password(password: str) -> str:
    return str(HASHER.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-cost check; `password_hash=None` (unknown user) still does the work."""
    try:
        HASHER.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return bool(HASHER.check_needs_rehash(password_hash))
