from __future__ import annotations

from typing import Literal

import pytest
from argon2 import PasswordHasher

from nanoscale.accounts import passwords


def test_passwords_are_hashed_with_argon2id_at_production_cost() -> None:
    hashed = passwords.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "m=65536,t=3,p=4" in hashed  # RFC 9106 low-memory profile
    assert passwords.verify_password(hashed, "correct horse battery")
    assert not passwords.verify_password(hashed, "wrong")


def test_unknown_user_check_does_the_work_and_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    verified: list[str] = []

    class CountingHasher(PasswordHasher):  # argon2's own hasher, counting its verify calls
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            verified.append(hash if isinstance(hash, str) else hash.decode())
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", CountingHasher())

    # Even the dummy hash's own password fails: an unknown user never logs in.
    assert not passwords.verify_password(None, "nanoscale-dummy-password")
    assert not passwords.verify_password(None, "anything")

    # Both checks ran argon2 against the dummy hash (the same cost as for a real user).
    assert len(verified) == 2
    assert all(h.startswith("$argon2id$") for h in verified)
