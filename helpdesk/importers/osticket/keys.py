"""Secrets that come over: API keys (only their hash is stored) and password hashes.

Both go through a seam, so the helpers of the osTicket-compatibility work (a key
compared case-insensitively; a hasher that verifies osTicket's hashes) are used as
soon as they are merged, and nothing breaks before.
"""

from __future__ import annotations

from django.contrib.auth.hashers import make_password


def stored_hash(key: str) -> str:
    """The hash our API keys are looked up by, for an osTicket key's value."""
    from accounts import apikeys

    normalise = getattr(apikeys, "api_key_hash", None)  # the compat work's, once merged
    if normalise is not None:
        return str(normalise(key))
    return apikeys.secret_hash(key)


def password(osticket_hash: str | None) -> tuple[str, bool]:
    """(the Django-encoded password, usable?) for a hash stored by osTicket. A hash that
    cannot be carried over leaves the account without a usable password (reset needed)."""
    if not osticket_hash:
        return make_password(None), False
    try:
        from accounts.hashers import from_osticket  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # TODO(merge wt-compat): accounts.hashers lands with it
        return make_password(None), False
    encoded = str(from_osticket(osticket_hash))
    return encoded, not encoded.startswith("!")
