"""Sign-in throttling per account (whatever name or address is typed) and per address,
with the wait to send as Retry-After; attempts counted before the password is checked;
the fixed-window counter for mail requests."""

import datetime as dt
import logging

import time_machine
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import timezone

from accounts import throttle
from accounts.models import UserEmail

from ..factories import AgentFactory


def _fail(times, *, login, ip="10.0.0.1", scope=throttle.SIGN_IN):
    for _ in range(times):
        attempt = throttle.attempt_start(login=login, ip=ip, scope=scope)
        assert attempt.allowed
        throttle.attempt_failed(attempt)


def _verdict(*, login, ip, scope=throttle.SIGN_IN):
    """The answer to one more attempt (which, allowed, is taken back as not a failure)."""
    attempt = throttle.attempt_start(login=login, ip=ip, scope=scope)
    if attempt.allowed:
        cache.decr(f"throttle:{scope}:n:acct:{attempt.account}")
        cache.decr(f"throttle:{scope}:n:ip:{ip}")
    return attempt.verdict


def test_failures_count_for_the_account_whatever_name_or_address_is_typed(cast):
    UserEmail.objects.create(user=cast.agent_a, email="alex.other@example.org")
    typed = ["alex", cast.agent_a.email.upper(), "alex.other@example.org", " alex "]
    for login in typed:  # 4 failures, each through another spelling and address
        _fail(1, login=login, ip=f"10.0.1.{len(login)}")
    assert _verdict(login="alex", ip="10.0.0.9").allowed
    _fail(1, login=cast.agent_a.email, ip="10.0.0.8")  # the fifth
    verdict = _verdict(login="ALEX.OTHER@example.org", ip="192.0.2.1")
    assert verdict == throttle.Verdict(False, throttle.WINDOW_SECONDS)
    assert _verdict(login="bea", ip="10.0.0.1").allowed  # another account


def test_a_success_clears_the_accounts_count_not_the_addresses(cast):
    _fail(4, login="alex", ip="10.0.0.1")
    success = throttle.attempt_start(login=cast.agent_a.email, ip="10.0.0.1")
    throttle.attempt_succeeded(success)
    _fail(4, login="alex", ip="10.0.0.2")
    assert _verdict(login="alex", ip="10.0.0.3").allowed
    assert cache.get("throttle:signin:n:ip:10.0.0.1") == 4  # the success is not counted


def test_unknown_names_are_throttled_like_accounts(db):
    _fail(throttle.ACCOUNT_LIMIT, login="Nobody@Example.org")
    verdict = _verdict(login="nobody@example.org", ip="198.51.100.1")
    assert (verdict.allowed, verdict.retry_after) == (False, throttle.WINDOW_SECONDS)


def test_the_lock_ends_with_its_window_and_says_how_long_is_left(cast, settings):
    # travelling in time moves the process's clock, not Redis's: the memory cache here
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _fail(throttle.ACCOUNT_LIMIT, login="alex")
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        assert _verdict(login="alex", ip="10.0.0.5") == throttle.Verdict(False, 300)
    with time_machine.travel(start + dt.timedelta(minutes=15, seconds=1), tick=False):
        assert _verdict(login="alex", ip="10.0.0.5").allowed


def test_one_address_trying_many_accounts_is_stopped(db):
    for i in range(throttle.IP_LIMIT):
        _fail(1, login=f"user{i}@example.org", ip="203.0.113.9")
    assert not _verdict(login="fresh@example.org", ip="203.0.113.9").allowed
    assert _verdict(login="fresh@example.org", ip="203.0.113.10").allowed


def test_scopes_keep_their_own_counts(cast):
    _fail(throttle.ACCOUNT_LIMIT, login="alex")
    assert _verdict(scope="panel-2fa", login="2fa:1", ip="10.0.0.1").allowed


def test_every_failure_is_logged_with_the_address(cast, caplog):
    with caplog.at_level(logging.WARNING, logger="helpdesk.security"):
        attempt = throttle.attempt_start(login="ALEX@helpdesk.test", ip="203.0.113.7")
        throttle.attempt_failed(attempt, channel="staff panel sign-in")
        throttle.attempt_failed(throttle.attempt_start(login="ghost", ip="203.0.113.8"))
    assert [r.getMessage() for r in caplog.records] == [
        f"failed staff panel sign-in for user:{cast.agent_a.pk} (typed 'ALEX@helpdesk.test') "
        "from 203.0.113.7",
        "failed signin for an unknown account (typed 'ghost') from 203.0.113.8",
    ]


def test_hit_counts_in_fixed_windows_and_tells_the_wait(db):
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    with time_machine.travel(start + dt.timedelta(minutes=20), tick=False):
        for _ in range(3):
            assert throttle.hit(scope="reset", key="a@example.org", limit=3).allowed
        assert throttle.hit(scope="reset", key="a@example.org", limit=3) == throttle.Verdict(
            False, 40 * 60
        )
        assert throttle.hit(scope="reset", key="b@example.org", limit=3).allowed
        assert throttle.hit(scope="reset", key="a@example.org", limit=0).allowed  # no limit
    with time_machine.travel(start + dt.timedelta(hours=1, minutes=1), tick=False):
        assert throttle.hit(scope="reset", key="a@example.org", limit=3).allowed


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.7, 10.0.0.5"
    )
    assert throttle.client_ip(request) == "10.0.0.5"
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    assert throttle.client_ip(request) == "198.51.100.7"


def test_a_login_resolves_to_the_account_exactly_as_signing_in_does(cast):
    maria = AgentFactory(username="Maria", email="Maria.Rossi@Example.test")
    assert throttle.account_of("Maria") == f"user:{maria.pk}"  # the username, as stored
    assert throttle.account_of(" MARIA.ROSSI@example.TEST ") == f"user:{maria.pk}"
    unknown = throttle.account_of("maria")  # no such username: signs in as nobody
    assert unknown.startswith("name:") and unknown == throttle.account_of("MARIA")
    assert throttle.account_of("x" * 300).startswith("name:")


def test_a_refused_attempt_is_not_counted(cast):
    _fail(throttle.ACCOUNT_LIMIT, login="alex", ip="10.0.0.1")
    for _ in range(3):
        assert not throttle.attempt_start(login="alex", ip="10.0.0.1").allowed
    assert cache.get("throttle:signin:n:ip:10.0.0.1") == throttle.ACCOUNT_LIMIT


def test_a_counter_made_again_without_an_expiry_gets_one(db, monkeypatch):
    """Django's Redis incr checks the key, then INCRBYs: a key expiring in between comes
    back without an expiry, and would lock forever. The counter gives it the window."""
    touched = []
    monkeypatch.setattr(cache, "add", lambda *a, **k: False)  # "it exists"...
    monkeypatch.setattr(cache, "incr", lambda key, delta=1: 1)  # ...then made again by incr
    monkeypatch.setattr(cache, "touch", lambda key, timeout: touched.append((key, timeout)))
    assert throttle._count("throttle:x", 900) == 1
    assert touched == [("throttle:x", 900)]
