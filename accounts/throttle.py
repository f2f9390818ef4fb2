"""Login throttling per account and per IP (the panel and the portal share it).

osTicket counts strikes per session, which a client resets by dropping the cookie; we
count per login name and per client address in the shared cache (Redis in production):
after `ACCOUNT_LIMIT` failures for one login, or `IP_LIMIT` from one address, within the
window, further attempts are refused until the window passes. A success clears the
login's count.
"""

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
    """The caller's address; X-Forwarded-For only behind a trusted proxy (settings)."""
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = getattr(settings, "TRUSTED_PROXIES", [])
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and remote in trusted:
        return forwarded.split(",")[0].strip()
    return remote


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
