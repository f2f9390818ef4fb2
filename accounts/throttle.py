"""Throttling of sign-ins and of mails people can ask for, in the shared cache (Redis in
production; every read and write goes through Django's cache API, so the cache's own
fail-open rules apply when Redis is down).

Sign-in (panel and portal share the counts): osTicket counts strikes per session, which
a client resets by dropping the cookie; we count failures per **account** and per client
**address**. The account is the user the typed name or address resolves to, by the very
lookup the sign-in backend makes (a username exactly as stored, the primary or an extra
email in any case: `alex`, `ALEX@example.com` and an extra address all count for one
account), else the typed text itself, so unknown names are throttled exactly like known
ones and the answer tells nothing.

An attempt is counted (`attempt_start`, one atomic cache `add`/`incr`) before the
password is checked, so a burst of concurrent attempts cannot all pass before the first
failure is recorded: at most `ACCOUNT_LIMIT` attempts on one account, and `IP_LIMIT`
from one address, are ever being checked or failed within `WINDOW_SECONDS`. A failure
(`attempt_failed`) stays counted and, at the limit, locks the account or the address
until `WINDOW_SECONDS` after it; further attempts are refused without checking the
password (`Verdict.retry_after`, sent as `Retry-After` with HTTP 429). Only a right
password (`attempt_succeeded`) clears the account's count and lock; the address keeps
its failures (the success takes back only its own count). A form that checks no
password (an empty one, a name the form refuses) starts no attempt and changes nothing.
Every failure is logged (logger `helpdesk.security`) with the address.

`hit()` is a plain fixed-window counter for requests that send mail (password reset,
registration), per account or per address.
"""

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

ACCOUNT_LIMIT = 5
IP_LIMIT = 20
WINDOW_SECONDS = 15 * 60
SIGN_IN = "signin"
MAX_LOGIN = 254  # no username or address is longer

log = logging.getLogger("helpdesk.security")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


def client_ip(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or, when that is a trusted proxy
    (settings.TRUSTED_PROXIES: addresses or networks), the last X-Forwarded-For hop that
    is not one of ours. Hops further left are the client's to invent, so never trusted."""
    meta: dict[str, Any] = getattr(request, "META", {})
    remote: str = meta.get("REMOTE_ADDR", "") or ""
    trusted: list[str] = getattr(settings, "TRUSTED_PROXIES", [])
    forwarded: str = meta.get("HTTP_X_FORWARDED_FOR", "")
    if not (trusted and forwarded and in_networks(remote, trusted)):
        return remote
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):  # walk back through our own proxies
        if not in_networks(hop, trusted):
            return hop
    return hops[0] if hops else remote


def in_networks(address: str, networks: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for net in networks:
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def account_of(login: str) -> str:
    """The key of the account a typed name or address names (see the module's text):
    the very lookup the sign-in backend makes (`user_find_by_login`: usernames exactly,
    addresses in any case), so every spelling that can sign in as an account counts for
    it, and nothing else does."""
    from .selectors import user_find_by_login

    typed = (login or "").strip()
    user = user_find_by_login(typed) if typed and len(typed) <= MAX_LOGIN else None
    if user is not None:
        return f"user:{user.pk}"
    # an unknown name: its spellings in any case count together (a safe cache key)
    return "name:" + hashlib.sha256(typed.lower().encode()).hexdigest()[:32]


def _count(key: str, window: int, delta: int = 1) -> int:
    """Add `delta` to a counter that lives `window` seconds from its first count, in one
    atomic step of the cache (add, else incr): concurrent callers each see their own
    total."""
    if delta > 0 and cache.add(key, delta, window):
        return delta
    try:
        total = cache.incr(key, delta)
    except ValueError:  # absent, or expired between add and incr
        if delta < 0:
            return 0
        cache.add(key, delta, window)
        return delta
    if total <= delta:
        # Django's Redis incr checks the key then INCRBYs: a key that expired in between
        # is made again without an expiry. Give it one, so no count lives forever.
        cache.touch(key, window)
    return total


def _keys(scope: str, account: str, ip: str) -> list[tuple[str, str, int]]:
    """(counter key, lock key, limit) of the account and of the address."""
    return [
        (
            f"throttle:{scope}:n:acct:{account}",
            f"throttle:{scope}:lock:acct:{account}",
            ACCOUNT_LIMIT,
        ),
        (f"throttle:{scope}:n:ip:{ip}", f"throttle:{scope}:lock:ip:{ip}", IP_LIMIT),
    ]


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt counted by `attempt_start`; end it with `attempt_failed` or
    `attempt_succeeded` (or neither, if it was refused)."""

    scope: str
    account: str
    ip: str
    typed: str
    verdict: Verdict

    @property
    def allowed(self) -> bool:
        return self.verdict.allowed

    @property
    def retry_after(self) -> int:
        return self.verdict.retry_after


def attempt_start(*, login: str, ip: str, scope: str = SIGN_IN) -> Attempt:
    """Count a sign-in attempt before the password is checked, and say whether it may
    go ahead. Counting first, atomically, is what holds the limit against a burst of
    concurrent attempts: each sees the count including the attempts still being checked,
    so at most `ACCOUNT_LIMIT` of an account's (and `IP_LIMIT` of an address's) are ever
    checked per lock. A refused attempt is not counted and checks nothing."""
    account = account_of(login)
    keys = _keys(scope, account, ip)

    def refused(retry_after: int) -> Attempt:
        return Attempt(scope, account, ip, login or "", Verdict(False, max(1, retry_after)))

    until = max(cache.get_many([lock for _, lock, _ in keys]).values(), default=0)
    if math.ceil(until - time.time()) > 0:
        return refused(math.ceil(until - time.time()))
    counted = []
    for counter, _, limit in keys:
        counted.append(counter)
        if _count(counter, WINDOW_SECONDS) > limit:  # the others are being checked now
            for key in counted:
                _count(key, WINDOW_SECONDS, -1)
            return refused(WINDOW_SECONDS)
    return Attempt(scope, account, ip, login or "", Verdict(True))


def attempt_failed(attempt: Attempt, *, channel: str = "") -> None:
    """The password (or code) was wrong: the attempt stays counted; a count at its
    limit locks the account or the address for `WINDOW_SECONDS`."""
    now = time.time()
    for counter, lock, limit in _keys(attempt.scope, attempt.account, attempt.ip):
        if (cache.get(counter) or 0) >= limit:
            cache.set(lock, now + WINDOW_SECONDS, WINDOW_SECONDS)
    log.warning(
        "failed %s for %s (typed %r) from %s",
        channel or attempt.scope,
        attempt.account if attempt.account.startswith("user:") else "an unknown account",
        attempt.typed[:254],
        attempt.ip or "an unknown address",
    )


def attempt_succeeded(attempt: Attempt) -> None:
    """The right password: the account's count and lock are cleared (only its owner can
    do this); the address keeps its failures, and this attempt, which was not one, is
    taken back from its count."""
    (account_counter, account_lock, _), (ip_counter, _, _) = _keys(
        attempt.scope, attempt.account, attempt.ip
    )
    cache.delete_many([account_counter, account_lock])
    _count(ip_counter, WINDOW_SECONDS, -1)


def hit(*, scope: str, key: str, limit: int, window: int = 3600) -> Verdict:
    """Count one request of `key` in fixed windows of `window` seconds; refused over
    `limit` (0: no limit), with the seconds until the window ends."""
    now = time.time()
    slot = int(now // window)
    digest = hashlib.sha256(key.strip().lower().encode()).hexdigest()[:32]  # a safe cache key
    count = _count(f"throttle:{scope}:{digest}:{slot}", window)
    if limit and count > limit:
        return Verdict(False, max(1, math.ceil((slot + 1) * window - now)))
    return Verdict(True)
