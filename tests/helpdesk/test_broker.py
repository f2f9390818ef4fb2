"""config/broker.py: the outbox hands rows to a redis:// broker through one producer
pool per process and one redis client per channel, and the messages are Celery's own
(a worker reads them as before)."""

import base64
import json
from unittest import mock

import pytest
from celery.utils.saferepr import saferepr
from django.conf import settings

from config import broker
from helpdesk.outbox import services
from helpdesk.outbox.tasks import run_outbox_task

from ..redis_process import celery_broker
from .test_outbox import record_task


@pytest.fixture
def our_transport():
    from config.celery import app

    saved = app.conf.broker_transport
    app.conf.broker_transport = "config.broker:Transport"
    yield
    app.conf.broker_transport = saved


def test_settings_choose_it_for_plain_redis_brokers_only():
    expected = (
        "config.broker:Transport" if settings.CELERY_BROKER_URL.startswith("redis://") else None
    )
    assert expected == settings.CELERY_BROKER_TRANSPORT


def test_the_producer_pool_is_built_once_per_broker_and_timeout(db):
    from config.celery import app

    with celery_broker("redis://127.0.0.1:1/0"):
        first = broker.producer_pool(app, timeout=0.5)
        assert broker.producer_pool(app, timeout=0.5) is first
        assert services.producers() is broker.producer_pool(
            app, timeout=settings.REDIS_TIMEOUT_SECONDS
        )
        assert broker.producer_pool(app, timeout=0.25) is not first
    with celery_broker("redis://127.0.0.1:1/0"):  # kombu.pools.reset() forgot ours too
        assert broker.producer_pool(app, timeout=0.5) is not first


@pytest.mark.redis_server
def test_offers_reuse_one_client_and_queue_celery_messages(
    db, redis_process, our_transport, django_capture_on_commit_callbacks
):
    made = []
    real = broker.Channel._create_client

    def counting(self, asynchronous=False):
        made.append(asynchronous)
        return real(self, asynchronous)

    with celery_broker(redis_process.url(0)):
        with mock.patch.object(broker.Channel, "_create_client", counting):
            rows = []
            for i in range(5):  # five transactions, each offering its row on commit
                with django_capture_on_commit_callbacks(execute=True):
                    rows.append(services.enqueue(record_task, f"row {i}"))
        with services.producers().acquire(block=True) as producer:
            assert isinstance(producer.channel, broker.Channel)

    for row in rows:
        row.refresh_from_db()
        assert row.offered_at is not None
    assert made.count(False) == 1  # one client published the five messages
    queued = [json.loads(raw) for raw in redis_process.client(0).lrange("celery", 0, -1)]
    assert len(queued) == 5
    assert {m["headers"]["task"] for m in queued} == {run_outbox_task.name}
    ids = sorted(json.loads(base64.b64decode(m["body"]))[0][0] for m in queued)
    assert ids == sorted(row.pk for row in rows)
    for message in queued:  # the arguments shown as Celery's saferepr shows them
        (pk,) = json.loads(base64.b64decode(message["body"]))[0]
        assert message["headers"]["argsrepr"] == saferepr((pk,), 1024) == f"({pk},)"
        assert message["headers"]["kwargsrepr"] == saferepr({}, 1024)
