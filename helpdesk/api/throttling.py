"""Rate limits: per token, key or signed-in user; per address for anonymous calls.

Rates come from settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], set from the
environment); over the limit the API answers 429 with Retry-After.
"""

from rest_framework.throttling import SimpleRateThrottle

from accounts.actors import is_api_key

from .authentication import client_ip


def caller_ident(request) -> str | None:
    """A stable name for the caller, or None when anonymous."""
    user = getattr(request, "user", None)
    auth = getattr(request, "auth", None)
    if is_api_key(user):
        return f"key:{user.key_id}"
    if auth is not None and getattr(auth, "pk", None) is not None and hasattr(auth, "token_hash"):
        return f"token:{auth.pk}"
    if user is not None and getattr(user, "is_authenticated", False) and user.pk is not None:
        return f"user:{user.pk}"
    return None


class CallerRateThrottle(SimpleRateThrottle):
    scope = "caller"

    def get_cache_key(self, request, view):
        ident = caller_ident(request)
        if ident is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonRateThrottle(SimpleRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if caller_ident(request) is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "-"}
