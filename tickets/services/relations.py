"""Tickets and other tickets or people: merge, link, collaborators; and the purge."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from accounts.actors import Actor, is_agent, is_api_key, is_system
from accounts.bus import send_on_commit
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.models import User
from threads import services as threads
from threads.models import Collaborator, Thread, ThreadEvent

from .. import signals
from ..models import HelpdeskSettings, State, Ticket, TicketLink, TicketStatus
from ..permissions import check
from ._common import (
    RELATED,
    bump,
    channel_of,
    closed_status,
    lock,
    record,
    ref,
    require_state,
    save,
)
from .status import announce_status, apply_status


def ticket_merge(
    *,
    actor: Actor,
    ticket: Ticket,
    sources: Sequence[Ticket],
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Merge `sources` into `ticket`: their entries move under it, their requesters and
    collaborators join it as collaborators, and each source is closed and linked."""
    channel = channel_of(actor, channel)
    config = HelpdeskSettings.load()
    ids = [ticket.pk, *(s.pk for s in sources)]
    if not sources or len(set(ids)) != len(ids):
        raise ValidationFailed("Choose other, distinct tickets to merge.", code="invalid_merge")
    closing = closed_status(config)
    with transaction.atomic():
        locked = {
            t.pk: t
            for t in Ticket.objects.select_for_update(of=("self",))
            .select_related(*RELATED)
            .filter(pk__in=ids)
            .order_by("pk")
        }
        target = locked[ticket.pk]
        if expected_version is not None:
            lock(target, expected_version)  # raises StaleVersion when the target moved on
        for t in locked.values():
            check(actor, "ticket.merge", t)
            if t.merged_into_id:
                raise Conflict(f"Ticket #{t.number} is already merged.", code="already_merged")
        require_state(target, State.OPEN, State.CLOSED, action="take a merge")
        merged = [locked[s.pk] for s in sources]
        for src in merged:
            require_state(src, State.OPEN, State.CLOSED, action="be merged")
            _merge_one(src, target, closing, actor=actor, channel=channel)
        record(target, ThreadEvent.Kind.MERGED, actor, channel, sources=[s.number for s in merged])
        save(target)
        send_on_commit(
            signals.ticket_merged,
            sender=Ticket,
            ticket=target,
            actor=actor,
            channel=channel,
            sources=merged,
        )
    return target


def _merge_one(
    src: Ticket, target: Ticket, closing: TicketStatus, *, actor: Actor, channel: str
) -> None:
    moved = threads.entries_move(source_id=src.thread_id, target_id=target.thread_id)
    people = [
        src.requester,
        *(
            c.user
            for c in Collaborator.objects.filter(
                thread_id=src.thread_id, is_active=True
            ).select_related("user")
        ),
    ]
    for user in people:
        if user.pk != target.requester_id:
            threads.collaborator_add(thread_id=target.thread_id, user=user)
    low, high = sorted((src.pk, target.pk))
    TicketLink.objects.get_or_create(low_id=low, high_id=high)
    src.merged_into = target
    fields = ["merged_into"]
    previous = src.status
    if src.state != closing.state or src.status_id != closing.pk:
        fields += apply_status(src, closing, actor=actor, channel=channel)
    record(
        src,
        ThreadEvent.Kind.MERGED,
        actor,
        channel,
        into=ref(target),
        into_number=target.number,
        entries=moved,
    )
    save(src, *fields)
    if previous.pk != closing.pk:
        announce_status(src, actor=actor, channel=channel, previous=previous)


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
    """Erase tickets in the trash for good (helpdesk admins only). Returns how many."""
    if not (is_system(actor) or (is_agent(actor) and actor.is_helpdesk_admin)):
        raise PermissionRefused(
            "Only helpdesk admins purge deleted tickets.", code="permission_denied"
        )
    ids = [t.pk for t in tickets]
    with transaction.atomic():
        doomed = list(Ticket.objects.select_for_update().filter(pk__in=ids, state=State.DELETED))
        if len(doomed) != len(ids):
            raise Conflict("Only deleted tickets can be purged.", code="not_deleted")
        thread_ids = [t.thread_id for t in doomed]
        Ticket.objects.filter(merged_into__in=doomed).update(merged_into=None)
        Ticket.objects.filter(pk__in=ids).delete()
        Thread.objects.filter(pk__in=thread_ids).delete()
    return len(doomed)
