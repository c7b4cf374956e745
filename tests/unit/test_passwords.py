from __future__ import annotations

from nanoscale.accounts import passwords


def test_passwords_are_hashed_with_argon2id_at_production_cost() -> None:
    hashed = passwords.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "m=65536,t=3,p=4" in hashed  # RFC 9106 low-memory profile
    assert passwords.verify_password(hashed, "correct horse battery")
    assert not passwords.verify_password(hashed, "wrong")


def test_unknown_user_check_does_the_work_and_fails() -> None:
    assert not passwords.verify_password(None, "anything")
