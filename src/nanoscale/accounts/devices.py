"""Known devices: a browser that logged in successfully gets a device cookie, so a lockout
of its address (someone else behind the same NAT failing on purpose) does not lock it out.

The cookie is the user id and a random device id, encrypted and authenticated with the
orchestrator's key ring: it cannot be forged or moved to another user. A login that carries
a device cookie for the username typed is throttled in its own bucket (`device:<id>`)
instead of the address's, so the device still gets the usual few attempts, no more.
"""

from __future__ import annotations

import binascii
import json
import secrets

from nanoscale.crypto import KeyRing
from nanoscale.errors import PlatformError

DEVICE_COOKIE = "nanoscale_device"
SECURE_DEVICE_COOKIE = "__Host-" + DEVICE_COOKIE
DEVICE_COOKIE_SECONDS = 365 * 24 * 3600
_CONTEXT = "login-device"
_MAX_TOKEN_LENGTH = 512


def device_cookie_name(*, secure: bool) -> str:
    return SECURE_DEVICE_COOKIE if secure else DEVICE_COOKIE


def issue(keyring: KeyRing, *, user_id: str, device_id: str | None = None) -> str:
    """A device cookie value for this user (a new device id unless one is kept)."""
    payload = {"u": user_id, "d": device_id or secrets.token_hex(8)}
    return keyring.encrypt(json.dumps(payload), context=_CONTEXT)


def known_device(keyring: KeyRing, token: str | None, *, user_id: str) -> str | None:
    """The device id in a genuine cookie issued to this user, else None (never raises)."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    try:
        payload = json.loads(keyring.decrypt(token, context=_CONTEXT))
    except (PlatformError, ValueError, binascii.Error):
        return None  # tampered, from a retired key, or not ours at all
    if not isinstance(payload, dict) or payload.get("u") != user_id:
        return None
    device_id = payload.get("d")
    return device_id if isinstance(device_id, str) and device_id.isalnum() else None


def throttle_bucket(device_id: str) -> str:
    """The address-like key a known device's attempts are counted under."""
    return f"device:{device_id[:32]}"
