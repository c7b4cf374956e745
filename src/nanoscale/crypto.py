"""Secrets at rest: AES-256-GCM with a key id in every ciphertext.

A value looks like ``v1.<key id>.<base64url(nonce || ciphertext)>``. The caller passes a
``context`` (e.g. ``"projects.env_vars:<project id>"``) that is bound as associated data, so a
ciphertext copied into another row or column does not decrypt. Keys live outside the database
(env var or key file); the first configured key encrypts, every configured key decrypts, and
`KeyRing.needs_rotation` tells `nanoscale keys rotate` which values to re-encrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from nanoscale.errors import ConfigError, PlatformError, SecretKeyMissing

_VERSION = "v1"
_NONCE_BYTES = 12


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def generate_key() -> str:
    """A new random 256-bit key, base64url encoded (the format keys are configured in)."""
    return _b64e(secrets.token_bytes(32))


def key_id(raw_key: bytes) -> str:
    return hashlib.sha256(raw_key).hexdigest()[:8]


@dataclass(frozen=True)
class _Key:
    kid: str
    aead: AESGCM


class KeyRing:
    def __init__(self, encoded_keys: list[str]) -> None:
        if not encoded_keys:
            raise ConfigError(
                "no secret key configured; set NANOSCALE_SECRET_KEY or NANOSCALE_SECRET_KEY_FILE",
                field="NANOSCALE_SECRET_KEY",
            )
        keys: list[_Key] = []
        for encoded in encoded_keys:
            try:
                raw = _b64d(encoded.strip())
            except ValueError as exc:
                raise ConfigError(
                    "a configured secret key is not base64url; generate one with "
                    "`nanoscale keys generate`",
                    field="NANOSCALE_SECRET_KEY",
                ) from exc
            if len(raw) != 32:
                raise ConfigError(
                    "secret keys must be 32 random bytes, base64url encoded; generate one with "
                    "`nanoscale keys generate`",
                    field="NANOSCALE_SECRET_KEY",
                )
            keys.append(_Key(kid=key_id(raw), aead=AESGCM(raw)))
        self._primary = keys[0]
        self._by_id = {k.kid: k for k in keys}

    @property
    def primary_key_id(self) -> str:
        return self._primary.kid

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._primary.aead.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_VERSION}.{self._primary.kid}.{_b64e(nonce + sealed)}"

    def decrypt(self, token: str, *, context: str) -> str:
        kid, blob = self._split(token)
        key = self._by_id.get(kid)
        if key is None:
            raise SecretKeyMissing(
                f"a stored secret was encrypted with key id {kid}, which is not configured; "
                "add that key to NANOSCALE_SECRET_KEY (after the current one) and retry"
            )
        try:
            plain = key.aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context.encode())
        except InvalidTag as exc:
            raise PlatformError(
                "a stored secret failed its integrity check (tampered, or moved to another row)",
                code="secret_corrupt",
            ) from exc
        return plain.decode()

    def needs_rotation(self, token: str) -> bool:
        return self._split(token)[0] != self._primary.kid

    @staticmethod
    def _split(token: str) -> tuple[str, bytes]:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _VERSION:
            raise PlatformError("a stored secret is not in a known format", code="secret_corrupt")
        return parts[1], _b64d(parts[2])


def ensure_key_file(path: Path) -> None:
    """Create a key file with one fresh key (mode 0600) unless it exists; used by dev setups."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(generate_key() + "\n")


def read_key_file(path: Path) -> list[str]:
    """One key per line, newest (primary) first; blank lines and # comments ignored."""
    lines = path.read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
