from django.test import RequestFactory

from accounts import throttle


def test_five_failures_lock_the_account_and_a_success_clears_it(db):
    for _ in range(throttle.ACCOUNT_LIMIT):
        assert throttle.check(scope="panel", login="Alex", ip="10.0.0.1").allowed
        throttle.record_failure(scope="panel", login="alex", ip="10.0.0.1")
    verdict = throttle.check(scope="panel", login="ALEX", ip="10.0.0.2")
    assert verdict == throttle.Verdict(False, throttle.WINDOW_SECONDS)
    assert throttle.check(scope="portal", login="alex", ip="10.0.0.1").allowed  # other scope
    throttle.record_success(scope="panel", login="alex", ip="10.0.0.1")
    assert throttle.check(scope="panel", login="alex", ip="10.0.0.1").allowed


def test_one_address_trying_many_accounts_is_stopped(db):
    for i in range(throttle.IP_LIMIT):
        throttle.record_failure(scope="portal", login=f"user{i}@example.org", ip="203.0.113.9")
    assert not throttle.check(scope="portal", login="fresh@example.org", ip="203.0.113.9").allowed
    assert throttle.check(scope="portal", login="fresh@example.org", ip="203.0.113.10").allowed


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.7, 10.0.0.5"
    )
    assert throttle.client_ip(request) == "10.0.0.5"
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    assert throttle.client_ip(request) == "198.51.100.7"
