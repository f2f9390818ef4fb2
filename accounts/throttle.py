"""Login throttling per account and per IP (the panel and the portal share it).

osTicket counts strikes per session, which a client resets by dropping the cookie; we
count per login name and per client address in the shared cache (Redis in production):
after `ACCOUNT_LIMIT` failures for one login, or `IP_LIMIT` from one address, within the
window, further attempts are refused until the window passes. A success clears the
login's count.
"""

import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

ACCOUNT_LIMIT = 5
IP_LIMIT = 20
WINDOW_SECONDS = 15 * 60


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


def _keys(scope: str, login: str, ip: str) -> tuple[str, str]:
    return f"login:{scope}:acct:{login.strip().lower()}", f"login:{scope}:ip:{ip}"


def check(*, scope: str, login: str, ip: str) -> Verdict:
    account_key, ip_key = _keys(scope, login, ip)
    counts = cache.get_many([account_key, ip_key])
    if counts.get(account_key, 0) >= ACCOUNT_LIMIT or counts.get(ip_key, 0) >= IP_LIMIT:
        return Verdict(False, WINDOW_SECONDS)
    return Verdict(True)


def record_failure(*, scope: str, login: str, ip: str) -> None:
    for key in _keys(scope, login, ip):
        if not cache.add(key, 1, WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, WINDOW_SECONDS)


def record_success(*, scope: str, login: str, ip: str) -> None:
    cache.delete(_keys(scope, login, ip)[0])
