"""A burst of concurrent sign-ins cannot overshoot the limit: every attempt is counted
before its password is checked, in one atomic step of the cache (process memory, and a
real Redis server shared by many processes)."""

import threading
import time

import pytest
from django.db import connections
from django.test import Client

from accounts import throttle
from accounts.backends import HelpdeskBackend

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BURST = 12


def _burst(monkeypatch, url, data) -> tuple[list[int], int]:
    """BURST sign-ins at once; every password check is held until each request is either
    being checked or answered, so none can finish before the others have started.
    Returns the statuses and how many passwords were checked."""
    checking, answered, release = [], [], threading.Event()
    lock = threading.Lock()
    authenticate = HelpdeskBackend.authenticate

    def held(self, request, username=None, password=None, **kwargs):
        with lock:
            checking.append(username)
        release.wait(10)
        return authenticate(self, request, username=username, password=password, **kwargs)

    Client().get(url)  # settings rows made once, before (SQLite takes one writer at a time)
    monkeypatch.setattr(HelpdeskBackend, "authenticate", held)
    statuses, errors, start = [], [], threading.Barrier(BURST)

    def one(n):
        try:
            start.wait(10)
            response = Client(REMOTE_ADDR=f"10.1.0.{n}").post(url, data)
            with lock:
                statuses.append(response.status_code)
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            answered.append(n)
            connections.close_all()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(BURST)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(checking) + len(answered) < BURST and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(20)
    assert errors == []
    return sorted(statuses), len(checking)


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/scp/login/", {"login": "alex", "password": "wrong"}),
        ("/login/", {"username": "alice@acme.test", "password": "wrong"}),
    ],
)
def test_a_burst_of_sign_ins_checks_at_most_the_limit_of_passwords(cast, monkeypatch, url, data):
    statuses, checked = _burst(monkeypatch, url, data)
    assert checked == throttle.ACCOUNT_LIMIT
    assert statuses == [200] * throttle.ACCOUNT_LIMIT + [429] * (BURST - throttle.ACCOUNT_LIMIT)
    login = data.get("login") or data["username"]
    assert not throttle.attempt_start(login=login, ip="10.2.0.1").allowed  # locked now


def test_on_redis_a_burst_checks_at_most_the_limit_too(cast, monkeypatch, redis_process, settings):
    settings.CACHES = {
        "default": {"BACKEND": "config.cache.RedisCache", "LOCATION": redis_process.url(3)}
    }
    statuses, checked = _burst(monkeypatch, "/scp/login/", {"login": "alex", "password": "x"})
    assert checked == throttle.ACCOUNT_LIMIT
    assert statuses == [200] * throttle.ACCOUNT_LIMIT + [429] * (BURST - throttle.ACCOUNT_LIMIT)
    from django.core.cache import cache

    counter = f"throttle:signin:n:acct:user:{cast.agent_a.pk}"
    assert cache.get(counter) == throttle.ACCOUNT_LIMIT
    ttl = cache._cache.get_client().ttl(cache.make_key(counter))
    assert 0 < ttl <= throttle.WINDOW_SECONDS
