from __future__ import annotations

import pytest

from nanoscale.crypto import KeyRing, generate_key
from nanoscale.errors import ConfigError, PlatformError, SecretKeyMissing


def test_encrypted_value_round_trips_and_hides_plaintext() -> None:
    ring = KeyRing([generate_key()])
    token = ring.encrypt("hunter2-secret", context="projects.env_vars:p1")
    assert "hunter2" not in token
    assert token.startswith(f"v1.{ring.primary_key_id}.")
    assert ring.decrypt(token, context="projects.env_vars:p1") == "hunter2-secret"


def test_ciphertext_moved_to_another_row_does_not_decrypt() -> None:
    ring = KeyRing([generate_key()])
    token = ring.encrypt("value", context="projects.env_vars:p1")
    with pytest.raises(PlatformError, match="integrity"):
        ring.decrypt(token, context="projects.env_vars:p2")


def test_old_key_still_decrypts_and_is_flagged_for_rotation() -> None:
    old, new = generate_key(), generate_key()
    token = KeyRing([old]).encrypt("value", context="c")
    rotated_ring = KeyRing([new, old])
    assert rotated_ring.decrypt(token, context="c") == "value"
    assert rotated_ring.needs_rotation(token)
    assert not rotated_ring.needs_rotation(rotated_ring.encrypt("value", context="c"))


def test_missing_key_fails_with_a_message_naming_the_key_id() -> None:
    old = KeyRing([generate_key()])
    token = old.encrypt("value", context="c")
    with pytest.raises(SecretKeyMissing, match=old.primary_key_id):
        KeyRing([generate_key()]).decrypt(token, context="c")


@pytest.mark.parametrize("bad", ["not-base64!!", "c2hvcnQ"])
def test_malformed_key_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"NANOSCALE_SECRET_KEY|generate"):
        KeyRing([bad])
