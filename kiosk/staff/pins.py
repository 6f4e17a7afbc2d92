"""PINs and badges: checking what staff type or scan against the stored hashes."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from hailong.sync.wire import Officer

PIN_PATTERN = re.compile(r"^[0-9]{4,12}$")


def hash_pin(pin: str) -> str:
    """An Argon2id hash of `pin` for the settings file or the roster."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(pin)


def pin_matches(pin_hash: str | None, pin: str) -> bool:
    """Whether `pin` is the one `pin_hash` was made from; an empty hash matches none.
    Slow on purpose (Argon2): call it off the UI thread."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    if not pin_hash or not pin:
        return False
    try:
        return PasswordHasher().verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def badge_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


def officer_with_badge(officers: Sequence[Officer], code: str) -> Officer | None:
    digest = badge_hash(code)
    for officer in officers:
        if officer.badge_hash and hmac.compare_digest(officer.badge_hash.lower(), digest):
            return officer
    return None


class WedgeReader:
    """Tells a barcode scanner from a person at a keyboard.

    A USB scanner is a keyboard that types its code and Enter within milliseconds;
    a person is far slower. Characters are collected while each follows the one
    before within `max_gap_s`; an Enter in time ends a scan. Times are passed in.
    """

    def __init__(self, max_gap_s: float = 0.1, min_length: int = 4) -> None:
        self.max_gap_s = max_gap_s
        self.min_length = min_length
        self._chars: list[str] = []
        self._last = 0.0

    def character(self, char: str, now: float) -> None:
        if self._chars and now - self._last > self.max_gap_s:
            self._chars = []
        self._chars.append(char)
        self._last = now

    def enter(self, now: float) -> str | None:
        """The scanned code, or None when what came before was not a scan."""
        chars, self._chars = self._chars, []
        if len(chars) < self.min_length or now - self._last > self.max_gap_s:
            return None
        return "".join(chars).strip() or None
