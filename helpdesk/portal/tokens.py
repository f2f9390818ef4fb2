"""Secret tokens of links sent by mail: 256 random bits, only the digest is stored."""

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits (the issue asks for at least 128)


def new_token() -> tuple[str, str]:
    """(the token to send, the digest to store)."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    return raw, digest(raw)


def digest(raw: str) -> str:
    return hashlib.sha256((raw or "").encode()).hexdigest()
