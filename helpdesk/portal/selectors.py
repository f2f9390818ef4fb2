"""Reads of the portal. Which tickets a client may see is decided by
tickets.selectors; these narrow it for guests (one ticket) and shape the lists."""

from typing import Any

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Greatest, Length, Lower, NullIf
from django.utils import timezone

from accounts.errors import NotVisible
from accounts.models import User
from routing.models import HelpTopic
from threads.models import Attachment, Collaborator, ThreadEntry
from threads.selectors import entries_for
from tickets.models import State, Ticket
from tickets.selectors import ticket_get_for, tickets_visible_to

from .models import AccessLink, Invitation
from .tokens import digest


def topics_public() -> list[HelpTopic]:
    """Help topics offered in the portal: public and active, under active public parents."""
    topics = list(HelpTopic.objects.select_related("parent").filter(is_active=True, is_public=True))
    ok_ids = {t.pk for t in topics}

    def offered(topic) -> bool:
        node, depth = topic.parent, 0
        while node is not None and depth < 50:
            if node.pk not in ok_ids:
                return False
            node, depth = node.parent, depth + 1
        return True

    return sorted((t for t in topics if offered(t)), key=lambda t: (t.sort, t.full_name.lower()))


def is_participant(*, ticket: Ticket, user) -> bool:
    """The requester, or an active collaborator: who a guest link may be for."""
    if ticket.requester_id == user.pk:
        return True
    return Collaborator.objects.filter(
        thread_id=ticket.thread_id, user_id=user.pk, is_active=True
    ).exists()


def access_link_valid(*, pk: int | None = None, token: str | None = None) -> AccessLink | None:
    """A usable link: not expired nor revoked, its user active and still on the ticket."""
    qs = AccessLink.objects.select_related("ticket", "user").filter(
        revoked_at__isnull=True, expires_at__gt=timezone.now(), user__is_active=True
    )
    if token:
        link = qs.filter(token_hash=digest(token)).first()
    else:
        link = qs.filter(pk=pk).first() if pk is not None else None
    if link is None or link.ticket.state == State.DELETED:
        return None
    if not is_participant(ticket=link.ticket, user=link.user):
        return None
    return link


def mail_link_valid(*, token: str) -> tuple[Ticket, "User"] | None:
    """The ticket and the client of a guest's ticket link from a mail (ticket_links), if
    it is genuine and not expired, the client active and still on the ticket, and the
    ticket not deleted; else None."""
    from .ticket_links import read_token

    ids = read_token(token)
    if ids is None:
        return None
    ticket = Ticket.objects.exclude(state=State.DELETED).filter(pk=ids[0]).first()
    user = User.objects.filter(pk=ids[1], is_active=True, is_agent=False).first()
    if ticket is None or user is None or not is_participant(ticket=ticket, user=user):
        return None
    return ticket, user


def invitation_usable(*, token: str) -> Invitation | None:
    inv = Invitation.objects.filter(token_hash=digest(token)).first()
    return inv if inv is not None and inv.is_usable else None


def portal_ticket_get(*, viewer, number: str) -> Ticket:
    """The ticket a portal visitor may see, or NotVisible (the views answer 404)."""
    if viewer.user is None:
        raise NotVisible("Ticket not found.", code="ticket_not_found")
    if viewer.link is not None and viewer.link.ticket.number != number:
        raise NotVisible("Ticket not found.", code="ticket_not_found")
    return ticket_get_for(user=viewer.user, number=number)


def _or_created(field: str):
    # GREATEST is NULL on SQLite when any argument is: a missing moment counts as the
    # creation, which is never later than the others
    return Coalesce(field, "created_at")


# When something a client can see last happened, in SQL (last_public_update in Python).
LAST_PUBLIC_UPDATE = Greatest(
    "created_at",
    _or_created("last_message_at"),
    _or_created("last_response_at"),
    _or_created("closed_at"),
    _or_created("reopened_at"),
)
# What each column of the list shows, as a sort key (the status as clients see it, the
# requester as their display name, numbers of any width in numeric order).
SORTS: dict[str, list[Any]] = {
    "number": [Length("number"), F("number")],
    "subject": [Lower("subject")],
    "status": [Lower(Coalesce(NullIf("status__client_name", Value("")), "status__name"))],
    "requester": [
        Lower(
            Coalesce(
                NullIf("requester__name", Value("")),
                NullIf("requester__username", Value("")),
                "requester__email",
            )
        )
    ],
    "updated": [F("last_update")],
}


def portal_tickets(
    *, user, state: str = "open", text: str = "", sort: str = "-updated"
) -> QuerySet[Ticket]:
    """A client's list: what tickets.selectors lets them see, open or closed, sorted by
    a column of the list (`sort`, "-" first for descending; newest first otherwise),
    each with `last_update`."""
    qs = tickets_visible_to(user=user).select_related("status", "requester", "topic")
    qs = qs.annotate(last_update=LAST_PUBLIC_UPDATE)
    if state == "closed":
        qs = qs.filter(state__in=[State.CLOSED, State.ARCHIVED])
    elif state == "open":
        qs = qs.filter(state=State.OPEN)
    text = (text or "").strip()
    if text:
        qs = qs.filter(Q(number__iexact=text.lstrip("#")) | Q(subject__icontains=text))
    descending = sort.startswith("-")
    keys = SORTS.get(sort.lstrip("-"), SORTS["updated"])
    order = [k.desc() if descending else k.asc() for k in keys]
    tie = F("id").desc() if descending else F("id").asc()  # a stable order across pages
    return qs.order_by(*order, tie)


def public_entries(*, ticket: Ticket):
    """The thread as clients see it: messages and responses, never internal notes."""
    return entries_for(thread_id=ticket.thread_id, include_notes=False)


def public_attachment(*, ticket: Ticket, pk: int) -> Attachment | None:
    """An attachment of a message or response of this ticket (never of a note)."""
    return (
        Attachment.objects.select_related("file", "entry")
        .filter(pk=pk, entry__thread_id=ticket.thread_id)
        .exclude(entry__kind=ThreadEntry.Kind.NOTE)
        .first()
    )


def last_public_update(ticket: Ticket):
    """When something a client can see last happened (notes and internal moves do
    not count)."""
    moments = [
        ticket.created_at,
        ticket.last_message_at,
        ticket.last_response_at,
        ticket.closed_at,
        ticket.reopened_at,
    ]
    return max(m for m in moments if m is not None)
