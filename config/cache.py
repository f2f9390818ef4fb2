"""Django's Redis cache, reusing one client object per connection pool, and serving
from process memory while Redis is down.

One client per pool: Django's RedisCacheClient builds a new redis.Redis for every cache
call, and redis-py fills about 170 response callbacks in each one: a few hundredths of a
millisecond per call, twice per throttled API request. redis.Redis objects are
thread-safe (they take connections from the pool), so one per pool serves every call.

Outages: when Redis refuses the connection, times out (short socket timeouts,
settings.py) or answers with an error (out of memory under `noeviction`, a read-only
replica after a failover, MISCONF when it cannot save: any redis-py `RedisError` but
`DataError`, which is our own bad input), the call is answered by a process-local
LocMemCache instead and Redis is left alone for `retry_seconds` (OPTIONS). Then one
small write decides whether it is used again: a Redis that refuses writes still answers
reads, and reading there while counts and locks go to memory would lose them. A warning
names the error, at most once a minute per server. Nothing that uses the cache fails:
throttles and login limits keep counting, per process, and the cron lock still works
within a process. What was written to memory is forgotten when Redis takes writes again.
"""

import logging
import math
import secrets
import threading
import time

from django.core.cache.backends import redis as django_redis
from django.core.cache.backends.locmem import LocMemCache
from redis import exceptions as redis_errors

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
WARN_EVERY_SECONDS = 60.0
PROBE_KEY = "helpdesk:cache:probe"  # written to see whether Redis takes writes again


class _Health:
    """Whether a Redis server is to be tried, shared by the threads of a process."""

    def __init__(self, name: str, retry_seconds: float):
        self.name = name
        self.retry_seconds = retry_seconds
        self._down_until = 0.0
        self._warned_at: float | None = None  # last outage warning
        self._announced = False  # an outage was logged and its end not yet
        self._lock = threading.Lock()

    def state(self) -> str:
        """ "up", "down" (serve from memory), or "retry" (the retry interval is over)."""
        if not self._down_until:
            return "up"
        return "retry" if time.monotonic() >= self._down_until else "down"

    def trip(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            was_up = self._down_until == 0.0
            self._down_until = now + self.retry_seconds
            warn = was_up and (
                self._warned_at is None or now - self._warned_at >= WARN_EVERY_SECONDS
            )
            if warn:
                self._warned_at, self._announced = now, True
        if warn:
            log.warning(
                "cache: Redis %s unreachable or refusing (%s: %s); serving from process "
                "memory, retrying every %s s",
                self.name,
                type(exc).__name__,
                exc,
                self.retry_seconds,
            )

    def ok(self) -> None:
        if self._down_until:
            with self._lock:
                self._down_until = 0.0
                announced, self._announced = self._announced, False
            if announced:
                log.warning("cache: Redis %s answers again", self.name)


_HEALTH: dict[tuple, _Health] = {}
_HEALTH_LOCK = threading.Lock()


def _health(servers, retry_seconds: float) -> _Health:
    key = (tuple(servers), retry_seconds)
    with _HEALTH_LOCK:
        return _HEALTH.setdefault(key, _Health(",".join(servers), retry_seconds))


def _guarded(name: str, redis_method=None, local=None):
    """A client method that falls back to process memory while Redis is unreachable or
    refuses (`redis_method`: Django's client method of that name unless given;
    `local(locmem, *args)`: the fallback, LocMemCache's method of that name unless
    given)."""
    redis_method = redis_method or getattr(django_redis.RedisCacheClient, name)

    def method(self, *args):
        if self._usable():
            try:
                result = redis_method(self, *args)
            except redis_errors.DataError:
                raise  # raised by redis-py before sending: our input, not the server
            except redis_errors.RedisError as exc:
                self._health.trip(exc)
            else:
                self._health.ok()
                return result
        if local is not None:
            return local(self._local, *args)
        return getattr(self._local, name)(*args)

    method.__name__ = name
    return method


def _redis_sliding_log(client, key, now: float, window: float, limit: int) -> tuple[int, float]:
    """`RedisCache.sliding_log` in one round trip (a MULTI transaction on a sorted set of
    request times), a second only when the request is refused (its entry taken back)."""
    redis = client.get_client(key, write=True)
    member = f"{now:.6f}:{secrets.token_hex(4)}"  # two requests in one microsecond: two
    with redis.pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(key, "-inf", now - window)
        pipe.zcard(key)
        pipe.zadd(key, {member: now})
        pipe.expire(key, math.ceil(window))
        pipe.zrange(key, 0, 0, withscores=True)
        _, seen, _, _, oldest = pipe.execute()
    if seen >= limit:
        redis.zrem(key, member)
    return seen, oldest[0][1] if oldest else now


def _local_sliding_log(local, key, now: float, window: float, limit: int) -> tuple[int, float]:
    """The same in process memory (Redis down): DRF's list of times, newest first."""
    history = [t for t in local.get(key, []) if t > now - window]
    seen = len(history)
    if seen < limit:
        history.insert(0, now)
        local.set(key, history, math.ceil(window))
    return seen, history[-1] if history else now


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, servers, *args, retry_seconds: float = RETRY_SECONDS, **kwargs):
        super().__init__(servers, *args, **kwargs)
        self._clients: dict[int, object] = {}
        self._lock = threading.Lock()
        self._health = _health(servers, retry_seconds)
        # LocMemCache keeps its data per name, so every thread's client shares it
        self._local = LocMemCache(f"redis-fallback:{self._health.name}", {})

    def _usable(self) -> bool:
        """Whether to call Redis. After an outage, Redis is used again only once it takes a
        write: a Redis refusing writes still answers reads, and reading there while the
        counts and locks are written to memory would lose them."""
        state = self._health.state()
        if state != "retry":
            return state == "up"
        try:
            self.get_client(write=True).set(PROBE_KEY, b"1", ex=60)
        except redis_errors.RedisError as exc:
            self._health.trip(exc)
            return False
        return True

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            with self._lock:
                client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client

    add = _guarded("add")
    get = _guarded("get")
    set = _guarded("set")
    touch = _guarded("touch")
    delete = _guarded("delete")
    get_many = _guarded("get_many")
    has_key = _guarded("has_key")
    incr = _guarded("incr")
    set_many = _guarded("set_many")
    delete_many = _guarded("delete_many")
    clear = _guarded("clear")
    sliding_log = _guarded("sliding_log", _redis_sliding_log, _local_sliding_log)


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def sliding_log(self, key, now: float, window: float, limit: int, version=None):
        """Count the requests logged under `key` in the `window` seconds up to `now` and
        log this one unless `limit` are there: (how many were there, the oldest one's
        time). The API throttles' log (helpdesk.api.throttling), atomic in Redis: callers
        racing on one key cannot all pass, as they could through a get and a set."""
        key = self.make_and_validate_key(key, version=version)
        return self._cache.sliding_log(key, now, window, limit)
