"""GET /healthz (the process answers, no database) and GET /readyz (database, cache,
broker and storage: JSON with each check; 503 when one fails), for load balancers."""

import json
import signal
from unittest import mock

import pytest
from django.test import Client

from helpdesk.ops import checks


def get(path, **extra):
    return Client().get(path, **extra)


def test_healthz_answers_without_touching_the_database(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = get("/healthz")

    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_probes_answer_any_host_and_plain_http(db, settings):
    """A load balancer asks by the server's address, over HTTP, behind TLS termination."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["helpdesk.example"]

    assert get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert get("/readyz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert get("/scp/", HTTP_HOST="10.0.0.7:8000").status_code == 400  # the rest: checked


def test_readyz_lists_every_check(db):
    response = get("/readyz")

    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "storage": "ok"},
    }


@pytest.mark.parametrize("failing", ["database", "cache", "broker", "storage"])
def test_readyz_answers_503_naming_the_failing_check_without_detail(db, failing):
    def down():
        raise ConnectionError("10.1.2.3:6379 refused; password=hunter2")

    with mock.patch.dict(checks.CHECKS, {failing: down}):
        response = get("/readyz")

    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "fail"
    assert body["checks"][failing] == "fail"
    assert {k: v for k, v in body["checks"].items() if k != failing} == {
        k: "ok" for k in checks.CHECKS if k != failing
    }
    assert b"10.1.2.3" not in response.content and b"hunter2" not in response.content


def test_a_redis_that_does_not_answer_fails_cache_and_broker(db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.REDIS_TIMEOUT_SECONDS = 0.2

    results = checks.run()

    assert results == {"database": True, "cache": False, "broker": False, "storage": True}
    assert checks.queue_length() is None  # tolerated: unknown, not an error


def test_a_media_folder_that_cannot_be_made_fails_storage(db, settings, tmp_path):
    (tmp_path / "a-file").write_bytes(b"")
    settings.MEDIA_ROOT = str(tmp_path / "a-file" / "media")

    assert checks.run(["storage"]) == {"storage": False}


def test_probes_take_no_post(db):
    assert Client().post("/readyz").status_code == 405


def test_with_a_real_redis_readyz_follows_it_and_the_queue_length_is_read(
    db, settings, redis_process
):
    settings.REDIS_URL = redis_process.url(1)
    settings.CELERY_BROKER_URL = redis_process.url(0)
    settings.REDIS_TIMEOUT_SECONDS = 0.3
    redis_process.client(0).rpush("celery", "a", "b", "c")

    assert checks.queue_length() == 3
    assert get("/readyz").status_code == 200

    redis_process.pause()  # up, accepting connections, answering nobody
    try:
        response = get("/readyz")
        assert response.status_code == 503
        assert json.loads(response.content)["checks"] == {
            "database": "ok",
            "cache": "fail",
            "broker": "fail",
            "storage": "ok",
        }
        assert checks.queue_length() is None
    finally:
        redis_process.proc.send_signal(signal.SIGCONT)
