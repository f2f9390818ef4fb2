"""The web process's broker connections, built once per process and reused by every
request that hands work to Celery (helpdesk.outbox offers a row on commit).

- `Transport`: kombu's Redis transport, whose channel keeps one redis.Redis client for
  the messages it publishes. kombu's own builds a new client for every message, and
  redis-py fills about 170 response callbacks in each (the same cost config/cache.py
  removes from the cache). A redis.Redis is thread-safe (it takes a connection from the
  channel's pool for each command); a channel whose pool was replaced gets a new one.
  Chosen through CELERY_BROKER_TRANSPORT for redis:// brokers only (settings.py);
  other brokers (amqp://, rediss://, sentinel://) keep kombu's transport as it is.
- `producer_pool(app, timeout=...)`: the outbox's pool of producers, built once per
  process, broker URL and timeout instead of a Connection object per offer.
"""

import os
from contextlib import contextmanager

from kombu import pools
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _publish_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        mine = self._publish_client
        if mine is None or mine.connection_pool is not self.pool:
            mine = self._publish_client = self._create_client()
        yield mine


class Transport(kombu_redis.Transport):
    Channel = Channel


class _ProducerPools(pools.PoolGroup):
    """Keyed by (pid, app, broker URL, timeout). A kombu pool group, so that
    kombu.pools.reset() (and a multiprocessing fork) forgets it with kombu's own."""

    def create(self, resource, limit):
        _, app, _, timeout = resource
        connection = app.connection_for_write(
            connect_timeout=timeout,
            transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
        )
        return pools.producers[connection]


_producer_pools = pools.register_group(_ProducerPools(limit=None))


def producer_pool(app, *, timeout: float, url: str | None = None) -> pools.ProducerPool:
    """Producers on connections with connect and socket timeouts of `timeout` seconds,
    one pool per process (a forked child builds its own), broker URL and timeout.
    `url`: the app's broker URL, when the caller has read it already."""
    return _producer_pools[(os.getpid(), app, url or app.conf.broker_url, timeout)]
