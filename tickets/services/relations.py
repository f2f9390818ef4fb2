"""Tickets and other tickets or people: links, collaborators; and the purge. Merging
is in merging.py."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q

from accounts.actors import Actor, is_agent, is_api_key, is_system
from accounts.bus import send_on_commit
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.models import User
from threads import services as threads
from threads.models import Collaborator, Thread, ThreadEvent

from .. import signals
from ..models import MergeMode, State, Task, Ticket, TicketLink
from ..permissions import check
from ._common import RELATED, bump, channel_of, lock, record, ref, require_state, save


def ticket_link(
    *, actor: Actor, ticket: Ticket, other: Ticket, channel: str | None = None
) -> Ticket:
    return _set_link(actor=actor, ticket=ticket, other=other, channel=channel, linked=True)


def ticket_unlink(
    *, actor: Actor, ticket: Ticket, other: Ticket, channel: str | None = None
) -> Ticket:
    return _set_link(actor=actor, ticket=ticket, other=other, channel=channel, linked=False)


def _set_link(
    *, actor: Actor, ticket: Ticket, other: Ticket, channel: str | None, linked: bool
) -> Ticket:
    channel = channel_of(actor, channel)
    if ticket.pk == other.pk:
        raise ValidationFailed("A ticket cannot be linked to itself.", code="self_link")
    check(actor, "ticket.link", ticket)
    check(actor, "ticket.link", other)
    low, high = sorted((ticket.pk, other.pk))
    with transaction.atomic():
        if linked:
            _, created = TicketLink.objects.get_or_create(low_id=low, high_id=high)
            if not created:
                raise Conflict(
                    f"#{ticket.number} and #{other.number} are already linked.",
                    code="already_linked",
                )
        elif not TicketLink.objects.filter(low_id=low, high_id=high).delete()[0]:
            raise Conflict(
                f"#{ticket.number} and #{other.number} are not linked.", code="not_linked"
            )
        else:  # a child linked under the other one (a merge in link mode) is free again
            Ticket.objects.filter(
                Q(pk=ticket.pk, merged_into_id=other.pk) | Q(pk=other.pk, merged_into_id=ticket.pk),
                merge_mode=MergeMode.LINK,
            ).update(merged_into=None, merge_mode="")
        kind = ThreadEvent.Kind.LINKED if linked else ThreadEvent.Kind.UNLINKED
        record(ticket, kind, actor, channel, other=ref_ticket(other))
        record(other, kind, actor, channel, other=ref_ticket(ticket))
        bump(ticket.pk, other.pk)
        signal = signals.ticket_linked if linked else signals.ticket_unlinked
        send_on_commit(
            signal, sender=Ticket, ticket=ticket, actor=actor, channel=channel, other=other
        )
    return Ticket.objects.select_related(*RELATED).get(pk=ticket.pk)


def ref_ticket(ticket: Ticket) -> dict[str, Any]:
    return {"id": ticket.pk, "number": ticket.number}


def _authorize_collaborators(actor: Actor, ticket: Ticket) -> None:
    if is_system(actor):
        return
    if not (is_agent(actor) or is_api_key(actor)):
        raise PermissionRefused("Only agents manage collaborators.", code="permission_denied")
    check(actor, "ticket.edit", ticket)


def ticket_add_collaborator(
    *,
    actor: Actor,
    ticket: Ticket,
    user: User,
    role: str = Collaborator.Role.CC,
    channel: str | None = None,
) -> Ticket:
    channel = channel_of(actor, channel)
    _authorize_collaborators(actor, ticket)
    if user.pk == ticket.requester_id:
        raise ValidationFailed(f"{user} is the requester already.", code="is_requester")
    if not user.is_active:
        raise ValidationFailed(f"{user} is not an active user.", code="inactive_user")
    with transaction.atomic():
        t = lock(ticket)
        require_state(t, State.OPEN, State.CLOSED, action="take collaborators")
        _, changed = threads.collaborator_add(thread_id=t.thread_id, user=user, role=role)
        if not changed:
            return t
        record(t, ThreadEvent.Kind.COLLABORATOR_ADDED, actor, channel, user=ref(user), role=role)
        save(t)
        send_on_commit(
            signals.ticket_collaborator_added,
            sender=Ticket,
            ticket=t,
            actor=actor,
            channel=channel,
            user=user,
        )
    return t


def ticket_remove_collaborator(
    *, actor: Actor, ticket: Ticket, user: User, channel: str | None = None
) -> Ticket:
    channel = channel_of(actor, channel)
    _authorize_collaborators(actor, ticket)
    with transaction.atomic():
        t = lock(ticket)
        if not threads.collaborator_remove(thread_id=t.thread_id, user=user):
            raise ValidationFailed(
                f"{user} is not a collaborator of #{t.number}.", code="not_collaborator"
            )
        record(t, ThreadEvent.Kind.COLLABORATOR_REMOVED, actor, channel, user=ref(user))
        save(t)
        send_on_commit(
            signals.ticket_collaborator_removed,
            sender=Ticket,
            ticket=t,
            actor=actor,
            channel=channel,
            user=user,
        )
    return t


def tickets_purge(*, actor: Actor, tickets: Sequence[Ticket]) -> int:
    """Erase tickets in the trash for good (helpdesk admins only), their tasks with
    them. Returns how many."""
    if not (is_system(actor) or (is_agent(actor) and actor.is_helpdesk_admin)):
        raise PermissionRefused(
            "Only helpdesk admins purge deleted tickets.", code="permission_denied"
        )
    ids = [t.pk for t in tickets]
    with transaction.atomic():
        doomed = list(Ticket.objects.select_for_update().filter(pk__in=ids, state=State.DELETED))
        if len(doomed) != len(ids):
            raise Conflict("Only deleted tickets can be purged.", code="not_deleted")
        tickets_erase(doomed)
    return len(doomed)


def tickets_erase(doomed: Sequence[Ticket]) -> None:
    """(Inside the caller's transaction, its checks done.) Erase the tickets for good:
    their tasks, their threads; tickets merged into them lose the parent."""
    ids = [t.pk for t in doomed]
    thread_ids = [t.thread_id for t in doomed]
    tasks = Task.objects.filter(ticket_id__in=ids)
    thread_ids += list(tasks.values_list("thread_id", flat=True))
    Ticket.objects.filter(merged_into__in=ids).update(merged_into=None, merge_mode="")
    tasks.delete()
    Ticket.objects.filter(pk__in=ids).delete()
    Thread.objects.filter(pk__in=thread_ids).delete()
