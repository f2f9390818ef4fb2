"""The ban list in the panel (osTicket's "emails.banlist"): list, add, remove, and "ban
the sender" of a ticket. Agents with emails.banlist (admins always); everyone else gets
the refusal page. Thin adapters over routing.services.banned_email_*."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from routing import selectors as routing_selectors
from routing import services as routing_services
from routing.models import BannedEmail

from .. import keyset
from ..access import agent_of, perm_required
from ..http import attempt
from ..params import DirectoryParams
from .common import go, page, ticket_or_404

PERM = "emails.banlist"
BY_ADDRESS = keyset.Sort("address", "address", "Address")
LIMIT = 50


class BanForm(forms.Form):
    address = forms.CharField(
        label=gettext_lazy("Address or @domain"),
        max_length=254,
        help_text=gettext_lazy("jane@example.com bans one sender; @example.com a whole domain."),
    )
    notes = forms.CharField(label=gettext_lazy("Notes"), max_length=255, required=False)


def _listing(request, form, *, status: int = 200):
    params = DirectoryParams(request.GET, sort_key=BY_ADDRESS.key, sort_field=BY_ADDRESS.field)
    if params.is_valid():
        q, cursor, problems = params.cleaned_data["q"], params.cleaned_data["cursor"], []
    else:
        q, cursor, problems = "", None, params.problems()
        status = 400
    rows = routing_selectors.banned_list(q)
    result = keyset.paginate(rows, sort=BY_ADDRESS, descending=False, cursor=cursor, size=LIMIT)
    ctx = {
        "page": result,
        "q": request.GET.get("q", "")[:200],
        "query_errors": problems,
        "form": form,
    }
    return page(request, "staff/banlist.html", ctx, status=status)


@perm_required(PERM)
@require_GET
def banlist(request):
    return _listing(request, BanForm())


@perm_required(PERM)
@require_POST
def banlist_add(request):
    form = BanForm(request.POST)
    if not form.is_valid():
        return _listing(request, form, status=422)
    d = form.cleaned_data
    outcome = attempt(
        request,
        lambda: routing_services.banned_email_add(
            actor=agent_of(request), address=d["address"], notes=d["notes"]
        ),
        form=form,
    )
    if not outcome.ok:
        return _listing(request, form, status=outcome.status)
    messages.success(request, _("%s is banned.") % outcome.value.address)
    return go(request, reverse("panel:banlist"))


@perm_required(PERM)
@require_POST
def banlist_remove(request, ban_id):
    ban = get_object_or_404(BannedEmail, pk=ban_id)
    outcome = attempt(
        request,
        lambda: routing_services.banned_email_remove(actor=agent_of(request), instance=ban),
    )
    if outcome.ok:
        messages.success(request, _("%s is no longer banned.") % ban.address)
    return go(request, reverse("panel:banlist"))


@perm_required(PERM)
@require_POST
def ticket_ban_sender(request, number):
    """Ban the requester of a ticket the agent sees (osTicket's "Ban Email")."""
    ticket = ticket_or_404(request, number)
    address = ticket.requester.email
    back = reverse("panel:ticket", args=[ticket.number])
    if routing_selectors.email_is_banned(address):
        messages.info(request, _("%s is already banned.") % address)
        return go(request, back)
    outcome = attempt(
        request,
        lambda: routing_services.banned_email_add(
            actor=agent_of(request),
            address=address,
            notes=_("Banned from ticket #%s") % ticket.number,
        ),
    )
    if outcome.ok:
        messages.success(request, _("%s is banned: new mail from it is rejected.") % address)
    return go(request, back)
