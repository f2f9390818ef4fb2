"""The ticket link in mail to a guest (a client without a password): it opens that one
ticket in the portal at once, without asking for a sign-in link by a second mail.

The token is signed (django.core.signing, with SECRET_KEY and its fallbacks) and names
the ticket and the client; it expires after PortalSettings.ticket_link_days and, like
every guest link, works only while the client is the ticket's requester or an active
collaborator and the ticket is not deleted (selectors.mail_link_valid). Nothing is
stored when it is made: the mail is the only copy until it is used, when it becomes an
ordinary guest session (an AccessLink row).
"""

import datetime as dt

from django.core import signing
from django.urls import reverse

from accounts.links import site_url

from .models import PortalSettings

SALT = "helpdesk.portal.ticket-link"


def lifetime() -> dt.timedelta:
    return dt.timedelta(days=PortalSettings.load().ticket_link_days)


def make_token(*, ticket_id: int, user_id: int) -> str:
    return signing.dumps([ticket_id, user_id], salt=SALT)


def read_token(token: str) -> tuple[int, int] | None:
    """(ticket id, user id) of a genuine token not older than the lifetime, else None."""
    try:
        value = signing.loads(token, salt=SALT, max_age=lifetime())
    except signing.BadSignature:  # forged, altered or expired (SignatureExpired)
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        return None
    return value[0], value[1]


def ticket_url(*, ticket, user) -> str:
    """The absolute link for `user` to `ticket`: signed for a guest, the plain ticket
    page for a client with a password (they sign in)."""
    if user.has_usable_password():
        return site_url(reverse("portal:ticket", args=[ticket.number]))
    token = make_token(ticket_id=ticket.pk, user_id=user.pk)
    return site_url(reverse("portal:ticket_link", args=[token]))
