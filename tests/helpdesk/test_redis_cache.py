"""config.cache.RedisCache: Django's Redis cache with one client per connection pool."""

import threading

import pytest
from django.core.cache import cache, caches

pytestmark = pytest.mark.redis


def test_one_client_serves_every_call_and_the_cache_works():
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    cache.set("hd-test-key", {"n": 1}, 30)
    assert cache.get("hd-test-key") == {"n": 1}
    assert cache.add("hd-test-key", 2, 30) is False
    assert cache.add("hd-test-counter", 0, 30) is True
    assert cache.incr("hd-test-counter") == 1 and cache.get("hd-test-counter") == 1
    cache.delete_many(["hd-test-key", "hd-test-counter"])
    assert cache.get("hd-test-key") is None


def test_threads_can_share_one_backend_and_its_client():
    """Django gives each thread its own cache backend; one shared on purpose (as a module
    global would be) must still work from many threads at once."""
    backend = caches["default"]
    errors, clients = [], set()

    def work(n):
        try:
            for i in range(50):
                backend.set(f"hd-thread-{n}", i, 30)
                assert backend.get(f"hd-thread-{n}") == i
            clients.add(id(backend._cache.get_client()))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cache.delete_many([f"hd-thread-{n}" for n in range(8)])
    assert errors == [] and len(clients) == 1
