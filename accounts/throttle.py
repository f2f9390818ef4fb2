"""Throttling of sign-ins and of mails people can ask for, in the shared cache (Redis in
production; every read and write goes through Django's cache API, so the cache's own
fail-open rules apply when Redis is down).

Sign-in (panel and portal share the counts): osTicket counts strikes per session, which
a client resets by dropping the cookie; we count failures per **account** and per client
**address**. The account is the user the typed name or address resolves to (a username,
the primary or an extra email: `alex`, `ALEX@example.com` and an extra address all count
for one account), else the typed text itself, so unknown names are throttled exactly
like known ones and the answer tells nothing. After `ACCOUNT_LIMIT` failures for one
account, or `IP_LIMIT` from one address, within `WINDOW_SECONDS`, further attempts are
refused, without checking the password, until the lock ends (`Verdict.retry_after`, sent
as `Retry-After` with HTTP 429). A success clears the account's count, never the
address's. Every failure is logged (logger `helpdesk.security`) with the address.

`hit()` is a plain fixed-window counter for requests that send mail (password reset,
registration), per account or per address.
"""

import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

ACCOUNT_LIMIT = 5
IP_LIMIT = 20
WINDOW_SECONDS = 15 * 60
SIGN_IN = "signin"

log = logging.getLogger("helpdesk.security")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


def client_ip(request) -> str:
    """The caller's address: REMOTE_ADDR, or, when that is a trusted proxy
    (settings.TRUSTED_PROXIES: addresses or networks), the last X-Forwarded-For hop that
    is not one of ours. Hops further left are the client's to invent, so never trusted."""
    meta = getattr(request, "META", {})
    remote = meta.get("REMOTE_ADDR", "") or ""
    trusted = getattr(settings, "TRUSTED_PROXIES", [])
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if not (trusted and forwarded and in_networks(remote, trusted)):
        return remote
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):  # walk back through our own proxies
        if not in_networks(hop, trusted):
            return hop
    return hops[0] if hops else remote


def in_networks(address: str, networks) -> bool:
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
    """The key of the account a typed name or address names (see the module's text)."""
    from .selectors import user_find_by_login

    typed = (login or "").strip().lower()[:254]
    user = user_find_by_login(typed) if typed else None
    if user is not None:
        return f"user:{user.pk}"
    return "name:" + hashlib.sha256(typed.encode()).hexdigest()[:32]  # a safe cache key


def _count(key: str, window: int) -> int:
    """One more in a counter that lives `window` seconds from its first count."""
    if cache.add(key, 1, window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, window)
        return 1


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


def check(*, login: str, ip: str, scope: str = SIGN_IN) -> Verdict:
    """May this sign-in be tried now? (Nothing is counted.)"""
    locks = [lock for _, lock, _ in _keys(scope, account_of(login), ip)]
    until = max(cache.get_many(locks).values(), default=0)
    wait = math.ceil(until - time.time())
    return Verdict(False, wait) if wait > 0 else Verdict(True)


def record_failure(*, login: str, ip: str, scope: str = SIGN_IN, channel: str = "") -> None:
    account = account_of(login)
    now = time.time()
    for counter, lock, limit in _keys(scope, account, ip):
        if _count(counter, WINDOW_SECONDS) >= limit:
            cache.set(lock, now + WINDOW_SECONDS, WINDOW_SECONDS)
    log.warning(
        "failed %s for %s (typed %r) from %s",
        channel or scope,
        account if account.startswith("user:") else "an unknown account",
        (login or "")[:254],
        ip or "an unknown address",
    )


def record_success(*, login: str, ip: str, scope: str = SIGN_IN) -> None:
    cache.delete(_keys(scope, account_of(login), ip)[0][0])


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
