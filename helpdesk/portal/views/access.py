"""Guests: "check a ticket" with an email address and a ticket number. The portal mails
a sign-in link for that one ticket to the address if it belongs to the ticket; it never
shows the ticket to whoever types the pair, and answers the same whether or not the
pair exists."""

import re

from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from accounts.throttle import client_ip

from .. import ratelimit
from ..forms import AccessRequestForm
from ..models import PortalSettings
from ..selectors import access_link_valid, mail_link_valid
from ..services import access_link_grant, access_link_request, access_link_use
from ..viewer import guest_sign_in, staff_notice, viewer_for

RATE_SCOPE = "access"
TICKET_PATH = re.compile(r"^/tickets/([^/]+)/")


def number_from_next(request) -> str:
    """The ticket number of a /tickets/<number>/ page the visitor was sent from."""
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return ""
    match = TICKET_PATH.match(target)
    return match.group(1) if match else ""


def access_request(request):
    config = PortalSettings.load()
    status = 200
    if request.method == "POST":
        form = AccessRequestForm(request.POST)
        if form.is_valid():
            ip = client_ip(request)
            if ratelimit.hit(RATE_SCOPE, ip, config.access_links_per_ip_per_hour):
                access_link_request(
                    email=form.cleaned_data["email"],
                    number=form.cleaned_data["number"],
                    ip=ip or None,
                )
                return redirect("portal:access_sent")
            form.add_error(None, _("Too many requests from your network. Try again in an hour."))
            status = 429
    else:
        number = request.GET.get("number", "")[:32] or number_from_next(request)
        form = AccessRequestForm(initial={"number": number})
    return render(request, "portal/access_request.html", {"form": form}, status=status)


def access_sent(request):
    return render(request, "portal/access_sent.html")


def access_open(request, token):
    """A sign-in link from a mail: a guest session for its one ticket."""
    viewer = viewer_for(request)
    if viewer.is_agent:
        return staff_notice(request)
    link = access_link_valid(token=token)
    if link is None:
        return render(request, "portal/link_invalid.html", status=404)
    return _open_as_guest(request, viewer, link.ticket, link.user, link.email, link=link)


def ticket_link_open(request, token):
    """The ticket link of a mail to a guest (helpdesk.portal.ticket_links): their
    ticket at once, in a guest session for that one ticket."""
    viewer = viewer_for(request)
    if viewer.is_agent:
        return staff_notice(request)
    found = mail_link_valid(token=token)
    if found is None:
        return render(request, "portal/link_invalid.html", status=404)
    ticket, user = found
    return _open_as_guest(request, viewer, ticket, user, user.email)


def _open_as_guest(request, viewer, ticket, user, email, link=None):
    """Sign the visitor in as a guest of `ticket` (with `link`, or a new one), unless it
    is their own ticket and they are signed in already."""
    if viewer.is_client and viewer.user is not None and viewer.user.pk == user.pk:
        return redirect("portal:ticket", number=ticket.number)
    if request.user.is_authenticated:
        # Another client is signed in: the link is not theirs. Ask before signing them
        # out, so a page elsewhere cannot swap their session for someone else's ticket.
        if request.method != "POST":
            context = {"email": email, "number": ticket.number}
            return render(request, "portal/access_switch.html", context)
        logout(request)
    if link is None:
        link = access_link_grant(ticket=ticket, user=user, email=email)
    else:
        access_link_use(link=link)
    guest_sign_in(request, link)
    return redirect("portal:ticket", number=ticket.number)
