"""Per-address rate limits of the portal (opening tickets, mails on request), counted in
fixed one-hour windows in the shared cache (Redis in production)."""

import time

from django.core.cache import cache

WINDOW_SECONDS = 3600


def _key(scope: str, who: str) -> str:
    return f"portal:rate:{scope}:{who}:{int(time.time() // WINDOW_SECONDS)}"


def used(scope: str, who: str) -> int:
    return cache.get(_key(scope, who), 0)


def blocked(scope: str, who: str, limit: int) -> bool:
    """Has `who` used up `limit` (0: unlimited) in this window?"""
    return bool(limit) and used(scope, who) >= limit


def hit(scope: str, who: str, limit: int) -> bool:
    """Count one use; False when it goes over the limit (0: unlimited)."""
    key = _key(scope, who)
    if cache.add(key, 1, WINDOW_SECONDS):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, WINDOW_SECONDS)
            count = 1
    return not limit or count <= limit


def seconds_left() -> int:
    """Seconds until the current window ends (Retry-After of a refusal)."""
    return max(1, WINDOW_SECONDS - int(time.time() % WINDOW_SECONDS))
