"""Secrets that come over: API keys (only their hash is stored) and password hashes.

Both use the osTicket-compatibility helpers of accounts: `apikeys.api_key_hash` (keys
compared case-insensitively, as osTicket does) and `hashers.from_osticket` (osTicket's
hashes kept, verified by our hashers and upgraded at the first sign-in).
"""

from __future__ import annotations

from django.contrib.auth.hashers import make_password

from accounts.hashers import from_osticket


def stored_hash(key: str) -> str:
    """The hash our API keys are looked up by, for an osTicket key's value."""
    from accounts import apikeys

    return apikeys.api_key_hash(key)  # case-insensitive, as osTicket compares keys


def password(osticket_hash: str | None) -> tuple[str, bool]:
    """(the Django-encoded password, usable?) for a hash stored by osTicket. A hash that
    cannot be carried over leaves the account without a usable password (reset needed)."""
    if not osticket_hash:
        return make_password(None), False
    encoded = str(from_osticket(osticket_hash))
    return encoded, not encoded.startswith("!")
