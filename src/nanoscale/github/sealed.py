"""Encrypt/decrypt the GitHub tables' secret columns, bound to their row (see models.py)."""

from __future__ import annotations

from nanoscale.crypto import KeyRing


def seal(keyring: KeyRing, template: str, row_id: str, value: str) -> str:
    return keyring.encrypt(value, context=template.format(id=row_id))


def unseal(keyring: KeyRing, template: str, row_id: str, value: str) -> str:
    return keyring.decrypt(value, context=template.format(id=row_id))
