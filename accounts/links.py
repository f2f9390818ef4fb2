"""Absolute links to this site, for mail and anything else read away from a request:
one function, from the address the site is served on (settings.HELPDESK_BASE_URL)."""

from django.conf import settings


def site_url(path: str = "") -> str:
    """`path` (a site path such as "/tickets/42/") on HELPDESK_BASE_URL, without a
    doubled or missing slash; the base address itself for no path."""
    base = str(settings.HELPDESK_BASE_URL).rstrip("/")
    if not path:
        return base
    return f"{base}/{path.lstrip('/')}"
