"""Opening a ticket: the form with the public help topics and their custom fields,
attachments, a one-time token (Post/Redirect/Get) and a per-address rate limit."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.actors import SYSTEM
from accounts.errors import DomainError, PermissionRefused
from accounts.services import user_get_or_create_by_email
from accounts.throttle import client_ip
from helpdesk.attachments import to_attachments
from threads.models import Channel
from tickets.customfields import fields_for_topic
from tickets.services import NewTicket, ticket_open

from .. import ratelimit
from ..forms import (
    CUSTOM_PREFIX,
    OpenTicketForm,
    add_domain_error,
    issue_form_token,
    read_form_token,
)
from ..models import PortalSettings
from ..params import TopicParams
from ..selectors import topics_public
from ..services import submit_once
from ..viewer import login_redirect, staff_notice, viewer_for

OPENED_SESSION_KEY = "portal_opened"
RATE_SCOPE = "open"


def _selected_topic(value, topics):
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return next((t for t in topics if t.pk == pk), None)


def _build_form(request, viewer, config, topics, *, bound: bool):
    source = request.POST if request.method == "POST" else request.GET
    topic = _selected_topic(source.get("topic"), topics) if topics else None
    fields = fields_for_topic(topic, for_client=True) if topic is not None else []
    kwargs = {
        "topics": topics,
        "custom_fields": fields,
        "guest": not viewer.is_client,
        "max_files": config.max_attachments,
    }
    if bound:
        return OpenTicketForm(request.POST, request.FILES, **kwargs), topic
    initial = {"form_token": issue_form_token(request)}
    if topic is not None:
        initial["topic"] = topic.pk
    if request.method == "POST":  # the topic changed without JavaScript: keep what was typed
        initial.update(
            {
                k: v
                for k, v in request.POST.items()
                if k not in ("form_token", "csrfmiddlewaretoken")
            }
        )
        initial["form_token"] = request.POST.get("form_token") or initial["form_token"]
    return OpenTicketForm(initial=initial, **kwargs), topic


def open_ticket(request):
    viewer = viewer_for(request)
    if viewer.is_agent:
        return staff_notice(request)
    config = PortalSettings.load()
    if not viewer.is_client and config.login_required_to_open:
        return login_redirect(request)
    topics = topics_public()
    refresh = request.method == "POST" and "refresh" in request.POST
    form, topic = _build_form(
        request, viewer, config, topics, bound=request.method == "POST" and not refresh
    )
    status, errors = 200, []
    if request.method == "GET":  # `topic` preselects one: a topic that is not offered is a 400
        params = TopicParams(request.GET, topics=topics)
        if not params.is_valid():
            status, errors = 400, params.problems()
    if request.method == "POST" and not refresh:
        if not form.is_valid():
            status = 400  # bad input (an oversized or refused file too): a form error
        else:
            response, status = _submit(request, viewer, config, form, topic)
            if response is not None:
                return response
    return render(
        request,
        "portal/open.html",
        {"form": form, "topic": topic, "viewer": viewer, "config": config, "query_errors": errors},
        status=status,
    )


def _submit(request, viewer, config, form, topic):
    """Open the ticket once per form token. Returns (redirect, None) or (None, status)."""
    ip = client_ip(request)
    nonce = read_form_token(request, form.cleaned_data.get("form_token"))
    if nonce is None:
        form.add_error(None, _("This form had expired. Check it and send it again."))
        form.data = form.data.copy()
        form.data["form_token"] = issue_form_token(request)
        return None, 200
    if ratelimit.blocked(RATE_SCOPE, ip, config.tickets_per_ip_per_hour):
        form.add_error(
            None, _("Too many tickets were opened from your network. Try again in an hour.")
        )
        return None, 429
    data = form.cleaned_data
    field_map = {"body": "message", "attachments": "attachments", "subject": "subject"}
    field_map.update({f.name: CUSTOM_PREFIX + f.name for f in form.custom_fields})

    def action():
        if viewer.is_client:
            actor = requester = viewer.user
        else:
            requester, _created = user_get_or_create_by_email(
                actor=SYSTEM, email=data["email"], name=data["name"]
            )
            actor = SYSTEM
        new = NewTicket(
            requester=requester,
            subject=data["subject"],
            body=data["message"],
            topic=topic,
            files=to_attachments(data.get("attachments")),
            custom_fields=form.custom_values(),
            channel=Channel.PORTAL,
            ip_address=ip or None,
            language=get_language() or "",  # the page's: the service keeps a shipped one
        )
        ticket = ticket_open(actor=actor, new=new)
        return ticket, None

    try:
        result = submit_once(nonce=nonce, action=action)
    except PermissionRefused as exc:
        if exc.code == "rejected":
            form.add_error(None, _("Sorry, we cannot accept a ticket from this address."))
        else:
            add_domain_error(form, exc, field_map)
        return None, 403
    except DomainError as exc:
        add_domain_error(form, exc, field_map)
        return None, 400
    if not result.duplicate:
        ratelimit.hit(RATE_SCOPE, ip, config.tickets_per_ip_per_hour)
    if result.ticket is None:
        return redirect("portal:open"), None
    return _after_open(request, viewer, result.ticket, result.duplicate), None


def _after_open(request, viewer, ticket, duplicate: bool) -> HttpResponseRedirect:
    if viewer.is_client:
        if not duplicate:
            messages.success(request, _("Ticket #%(number)s is open.") % {"number": ticket.number})
        return redirect("portal:ticket", number=ticket.number)
    request.session[OPENED_SESSION_KEY] = ticket.number
    return redirect("portal:open_thanks")


def open_fields(request):
    """The custom fields of the chosen topic (htmx swaps them into the form)."""
    viewer = viewer_for(request)
    config = PortalSettings.load()
    topics = topics_public()
    params = TopicParams(request.GET, topics=topics)
    if not params.is_valid():
        ctx = {"query_errors": params.problems()}
        return render(request, "portal/_query_errors.html", ctx, status=400)
    form, topic = _build_form(request, viewer, config, topics, bound=False)
    return render(request, "portal/_custom_fields.html", {"form": form, "topic": topic})


def open_thanks(request):
    """After a guest opened a ticket: its number, and how to follow it (a sign-in link
    by email). Nothing of the ticket itself is shown."""
    number = request.session.get(OPENED_SESSION_KEY)
    if not number:
        return redirect("portal:open")
    return render(
        request,
        "portal/open_thanks.html",
        {
            "number": number,
            "access_url": reverse("portal:access") + f"?number={number}",
        },
    )
