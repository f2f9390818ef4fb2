"""Django's Redis cache, reusing one client object per connection pool.

Django's RedisCacheClient builds a new redis.Redis for every cache call, and redis-py
fills about 170 response callbacks in each one: a few hundredths of a millisecond per
call, twice per throttled API request. redis.Redis objects are thread-safe (they take
connections from the pool), so one per pool serves every call."""

import threading

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._lock = threading.Lock()

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            with self._lock:
                client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
