"""The API throttles' request log in Redis (config.cache.RedisCache.sliding_log): DRF's
rule (at most N requests in any window of the rate's length, refused requests not
counted, its Retry-After) in one atomic round trip, racing callers held to the limit,
and counted in process memory while Redis is down."""

import threading
import time

import pytest
import time_machine
from django.core.cache import cache

from ..factories import AgentFactory
from ..redis_process import pointed_at
from .conftest import problem

pytestmark = pytest.mark.redis_server


def test_the_log_is_a_sorted_set_in_redis_and_the_window_slides(
    api, cast, tight_throttle, redis_process, settings
):
    with pointed_at(redis_process, settings):
        client = api.agent(cast.agent_a)
        start = time.time()
        with time_machine.travel(start, tick=False) as clock:
            codes = [client.get("/api/v1/tickets/").status_code for _ in range(2)]
            clock.shift(30)
            codes += [client.get("/api/v1/tickets/").status_code for _ in range(2)]
            refused = client.get("/api/v1/tickets/")
            assert codes == [200, 200, 200, 429]
            assert problem(refused)["code"] == "throttled"
            # DRF's Retry-After: what is left of the oldest request's minute over the
            # places that frees (60 - 30) / (3 - 3 + 1)
            assert refused["Retry-After"] == "30"
            [key] = redis_process.client(1).keys("*throttle_caller_*:log")
            assert redis_process.client(1).type(key) == b"zset"
            assert redis_process.client(1).zcard(key) == 3  # refused requests not logged
            assert 0 < redis_process.client(1).ttl(key) <= 60

            clock.shift(31)  # the first two have left the window; the third has not
            codes = [client.get("/api/v1/tickets/").status_code for _ in range(3)]
            assert codes == [200, 200, 429]

        other = api.agent(AgentFactory(department=cast.dept_a))
        assert other.get("/api/v1/tickets/").status_code == 200  # per token


def test_racing_requests_cannot_all_take_the_last_places(redis_process, settings):
    """Twenty threads at once on one key, a limit of five: five pass (a get and a set
    would let several read the same count)."""
    with pointed_at(redis_process, settings):
        now = time.time()
        barrier = threading.Barrier(20)
        results: list[int] = []

        def one():
            barrier.wait()
            seen, _ = cache.sliding_log("throttle_race", now, 60, 5)
            results.append(seen)

        threads = [threading.Thread(target=one) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(seen < 5 for seen in results) == 5
        assert redis_process.client(1).zcard(cache.make_key("throttle_race")) == 5


def test_while_redis_is_down_the_log_is_kept_in_process_memory(
    api, cast, tight_throttle, redis_process, settings
):
    with pointed_at(redis_process, settings, cache_retry_seconds=60):
        redis_process.kill()
        client = api.agent(cast.agent_a)
        codes = [client.get("/api/v1/tickets/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert 1 <= int(client.get("/api/v1/tickets/")["Retry-After"]) <= 60
