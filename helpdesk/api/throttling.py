"""Rate limits: per token, key or signed-in user; per address for anonymous calls.

Rates come from settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], set from the
environment); over the limit the API answers 429 with Retry-After.

DRF's SimpleRateThrottle keeps each caller's request times as one pickled list, read
and written back (two round trips to Redis, the whole list each way: thousands of
times for a busy integration; and two racing requests can both pass on the last
place). With our Redis cache (config.cache) the log is a sorted set updated in one
atomic round trip (`sliding_log`); the rule is DRF's: at most N requests in any window
of the rate's length, a refused request not counted, Retry-After as DRF computes it.
Other caches (the SQLite development setup's) keep DRF's own list.
"""

from typing import TYPE_CHECKING

from rest_framework.throttling import SimpleRateThrottle

from accounts.actors import is_api_key

from .authentication import client_ip

if TYPE_CHECKING:  # DRF's settings import the throttles while rest_framework.views loads
    from rest_framework.request import Request
    from rest_framework.views import APIView


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


class LoggedRateThrottle(SimpleRateThrottle):
    """SimpleRateThrottle with the request log kept by the cache when it can
    (config.cache.RedisCache.sliding_log)."""

    seen: int | None = None
    num_requests: int  # set by SimpleRateThrottle from the rate
    duration: int

    def allow_request(self, request: "Request", view: "APIView") -> bool:
        log = getattr(self.cache, "sliding_log", None)
        if log is None:
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        self.seen, self.oldest = log(f"{self.key}:log", self.now, self.duration, self.num_requests)
        return self.seen < self.num_requests

    def wait(self) -> float | None:
        if self.seen is None:
            return super().wait()
        remaining = self.duration - (self.now - self.oldest) if self.seen else self.duration
        available = self.num_requests - self.seen + 1
        return remaining / available if available > 0 else None


class CallerRateThrottle(LoggedRateThrottle):
    scope = "caller"

    def get_cache_key(self, request, view):
        ident = caller_ident(request)
        if ident is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonRateThrottle(LoggedRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if caller_ident(request) is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "-"}
