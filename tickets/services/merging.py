"""Merging tickets in osTicket's three modes, and undoing a merge.

A merge makes `ticket` the parent of the `sources` (their `merged_into`), in one mode
(`Ticket.merge_mode`, kept on each child):

- combine: each child's entries move into the parent's thread, each remembering the
  thread it came from (`ThreadEntry.original_thread`), so the parent reads as one
  conversation in time order;
- separate: each child keeps its thread; the parent shows it below its own;
- link (osTicket's "visual merge"): the tickets are related (a link, and the parent
  recorded), nothing moves, no status changes. Needs `ticket.link` on every ticket.

Combine and separate need `ticket.merge` on every ticket. Then, as in osTicket: each
child's requester (and, with `participants="all"`, its collaborators) becomes a
collaborator of the parent; each child takes the child status (a closed one, by default
the configured `closed_status`) and mail to it goes to the parent; a child from another
department refers the parent to that department; the parent may be given a status.

`ticket_unmerge` detaches one child (osTicket cannot undo a merge; it only unlinks a
"visual" one): a combined child takes back the entries that came from its thread
(entries posted to the parent since stay there) and, unless told another, the status it
had before the merge; collaborators copied to the parent, referrals and the link stay.
"""

from collections.abc import Sequence

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from accounts.actors import Actor
from accounts.bus import send_on_commit
from accounts.errors import Conflict, ValidationFailed
from accounts.models import User
from routing.models import Department
from threads import services as threads
from threads.models import Collaborator, ThreadEvent

from .. import signals
from ..models import (
    TRANSITIONS,
    HelpdeskSettings,
    MergeMode,
    State,
    Ticket,
    TicketLink,
    TicketStatus,
)
from ..permissions import check
from ._common import (
    channel_of,
    closed_status,
    lock,
    lock_all,
    record,
    ref,
    require_state,
    save,
)
from .relations import ref_ticket
from .status import announce_status, apply_status, authorize_status

MERGE_OR_LINK = frozenset({"ticket.merge", "ticket.link"})


class Participants(models.TextChoices):
    """Who of a merged child joins the parent as a collaborator (osTicket's choice)."""

    ALL = "all", _("Requesters and collaborators")  # osTicket's default
    REQUESTERS = "requesters", _("Requesters only")


def _check_options(
    mode: str,
    participants: str | None,
    child_status: TicketStatus | None,
    parent_status: TicketStatus | None,
) -> None:
    if mode not in MergeMode.values:
        raise ValidationFailed(
            f"Unknown merge mode {mode!r}: choose combine, separate or link.",
            code="invalid_merge_mode",
            fields={"mode": ["Choose combine, separate or link."]},
        )
    given = {
        "participants": participants,
        "child_status": child_status,
        "parent_status": parent_status,
    }
    if mode == MergeMode.LINK:
        named = sorted(name for name, value in given.items() if value is not None)
        if named:
            raise ValidationFailed(
                f"A link moves nothing and changes no status: drop {', '.join(named)}.",
                code="invalid_merge_options",
                fields={name: ["Not used when linking."] for name in named},
            )
        return
    if participants is not None and participants not in Participants.values:
        raise ValidationFailed(
            "Participants are `all` or `requesters`.",
            code="invalid_participants",
            fields={"participants": ["Choose all or requesters."]},
        )
    if child_status is not None and child_status.state != State.CLOSED:
        raise ValidationFailed(
            f"The status of merged tickets must be a closed one, not {child_status.name}.",
            code="invalid_child_status",
            fields={"child_status": ["Choose a closed status."]},
        )
    if parent_status is not None and parent_status.state not in (State.OPEN, State.CLOSED):
        raise ValidationFailed(
            f"The parent's status must be an open or a closed one, not {parent_status.name}.",
            code="invalid_parent_status",
            fields={"parent_status": ["Choose an open or a closed status."]},
        )


def _check_family(target: Ticket, children: list[Ticket]) -> None:
    """One level only: a child has no children, a parent is nobody's child."""
    child_ids = {c.pk for c in children}
    if target.merged_into_id in child_ids:
        raise Conflict(
            f"Ticket #{target.number} is merged into one of these tickets: a ticket cannot "
            "take its own parent. Unmerge it first.",
            code="merge_into_child",
        )
    if target.merged_into_id is not None:
        raise Conflict(
            f"Ticket #{target.number} is itself merged into another ticket: merge into that "
            "one, or unmerge it first.",
            code="already_merged",
        )
    for child in children:
        if child.merged_into_id is not None:
            raise Conflict(
                f"Ticket #{child.number} is already merged into another ticket (or linked "
                "under one): unmerge it first.",
                code="already_merged",
            )
    parents = set(
        Ticket.objects.filter(merged_into_id__in=child_ids).values_list("merged_into_id", flat=True)
    )
    if parents:
        numbers = ", ".join(f"#{c.number}" for c in children if c.pk in parents)
        raise Conflict(
            f"{numbers}: other tickets are merged into it or linked under it; unmerge them "
            "first, or merge them here directly.",
            code="has_merged_children",
        )


def ticket_merge(
    *,
    actor: Actor,
    ticket: Ticket,
    sources: Sequence[Ticket],
    mode: str = MergeMode.COMBINE,
    participants: str | None = None,
    child_status: TicketStatus | None = None,
    parent_status: TicketStatus | None = None,
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Make `ticket` the parent of `sources` in `mode` (module docstring); returns the parent."""
    channel = channel_of(actor, channel)
    config = HelpdeskSettings.load()
    _check_options(mode, participants, child_status, parent_status)
    ids = [ticket.pk, *(s.pk for s in sources)]
    if not sources or len(set(ids)) != len(ids):
        raise ValidationFailed("Choose other, distinct tickets to merge.", code="invalid_merge")
    with transaction.atomic():
        locked = lock_all(ids)
        target = locked[ticket.pk]
        if expected_version is not None:
            lock(target, expected_version)  # raises StaleVersion when the parent moved on
        perm = "ticket.link" if mode == MergeMode.LINK else "ticket.merge"
        for t in locked.values():
            check(actor, perm, t)
        children = [locked[s.pk] for s in sources]
        _check_family(target, children)
        require_state(target, State.OPEN, State.CLOSED, action="take a merge")
        for child in children:
            require_state(child, State.OPEN, State.CLOSED, action="be merged")
        if mode == MergeMode.LINK:
            _link_children(target, children, actor=actor, channel=channel)
            return target
        closing = child_status or closed_status(config)
        for child in children:
            _merge_one(
                child,
                target,
                mode,
                closing,
                participants or Participants.ALL,
                actor=actor,
                channel=channel,
                config=config,
            )
        record(
            target,
            ThreadEvent.Kind.MERGED,
            actor,
            channel,
            sources=[c.number for c in children],
            mode=mode,
        )
        _parent_status(target, parent_status, actor=actor, channel=channel, config=config)
        send_on_commit(
            signals.ticket_merged,
            sender=Ticket,
            ticket=target,
            actor=actor,
            channel=channel,
            sources=children,
            mode=mode,
        )
    return target


def _parent_status(
    target: Ticket,
    status: TicketStatus | None,
    *,
    actor: Actor,
    channel: str,
    config: HelpdeskSettings,
) -> None:
    if status is None or status.pk == target.status_id:
        save(target)
        return
    authorize_status(actor, target, status, config)
    previous = target.status
    fields = apply_status(target, status, actor=actor, channel=channel, config=config)
    save(target, *fields)
    announce_status(target, actor=actor, channel=channel, previous=previous)


def _merge_one(
    child: Ticket,
    target: Ticket,
    mode: str,
    closing: TicketStatus,
    participants: str,
    *,
    actor: Actor,
    channel: str,
    config: HelpdeskSettings,
) -> None:
    moved = 0
    if mode == MergeMode.COMBINE:
        moved = threads.entries_move(source_id=child.thread_id, target_id=target.thread_id)
    people: list[User] = [child.requester]
    if participants == Participants.ALL:
        people += [
            c.user
            for c in Collaborator.objects.filter(
                thread_id=child.thread_id, is_active=True
            ).select_related("user")
        ]
    for user in people:
        if user.pk != target.requester_id and user.is_active:
            threads.collaborator_add(thread_id=target.thread_id, user=user)
    low, high = sorted((child.pk, target.pk))
    TicketLink.objects.get_or_create(low_id=low, high_id=high)
    if child.department_id != target.department_id:
        _refer_parent(target, child.department, actor=actor, channel=channel)
    previous = child.status
    child.merged_into, child.merge_mode = target, mode
    fields = ["merged_into", "merge_mode"]
    if child.status_id != closing.pk:
        fields += apply_status(
            child, closing, actor=actor, channel=channel, config=config, guard=False
        )
    record(
        child,
        ThreadEvent.Kind.MERGED,
        actor,
        channel,
        into=ref(target),
        into_number=target.number,
        other=ref_ticket(target),
        mode=mode,
        entries=moved,
        status_before={"id": previous.pk, "name": previous.name, "state": previous.state},
    )
    save(child, *fields)
    if previous.pk != closing.pk:
        announce_status(child, actor=actor, channel=channel, previous=previous)


def _refer_parent(target: Ticket, department: Department, *, actor: Actor, channel: str) -> None:
    """osTicket: a merge across departments refers the parent to the child's department,
    so the agents who worked the child still see where it went."""
    referral, created = threads.referral_add(thread_id=target.thread_id, department=department)
    if not created:
        return
    record(
        target,
        ThreadEvent.Kind.REFERRED,
        actor,
        channel,
        target_kind="department",
        target=ref(department),
        auto=True,
        reason="merged",
    )
    send_on_commit(
        signals.ticket_referred,
        sender=Ticket,
        ticket=target,
        actor=actor,
        channel=channel,
        referral=referral,
    )


def _link_children(target: Ticket, children: list[Ticket], *, actor: Actor, channel: str) -> None:
    for child in children:
        low, high = sorted((child.pk, target.pk))
        TicketLink.objects.get_or_create(low_id=low, high_id=high)
        child.merged_into, child.merge_mode = target, MergeMode.LINK
        record(
            child, ThreadEvent.Kind.LINKED, actor, channel, other=ref_ticket(target), parent=True
        )
        record(target, ThreadEvent.Kind.LINKED, actor, channel, other=ref_ticket(child), child=True)
        save(child, "merged_into", "merge_mode")
        send_on_commit(
            signals.ticket_linked,
            sender=Ticket,
            ticket=target,
            actor=actor,
            channel=channel,
            other=child,
        )
    save(target)


def _lock_pair(ticket: Ticket) -> tuple[Ticket, Ticket | None]:
    """The child and its parent, row-locked in primary-key order (as a merge locks)."""
    parent_id = Ticket.objects.filter(pk=ticket.pk).values_list("merged_into_id", flat=True).first()
    ids = [ticket.pk] + ([parent_id] if parent_id else [])
    locked = lock_all(ids)
    child = locked[ticket.pk]
    if child.merged_into_id != parent_id:  # changed between the two reads
        raise Conflict(
            f"Ticket #{child.number} changed meanwhile. Reload and try again.", code="retry"
        )
    return child, locked.get(parent_id) if parent_id is not None else None


def ticket_unmerge(
    *,
    actor: Actor,
    ticket: Ticket,
    status: TicketStatus | None = None,
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Detach a merged (or linked) child from its parent (module docstring); returns it."""
    channel = channel_of(actor, channel)
    config = HelpdeskSettings.load()
    with transaction.atomic():
        child, parent = _lock_pair(ticket)
        check(actor, MERGE_OR_LINK, child)
        if expected_version is not None:
            lock(child, expected_version)  # raises StaleVersion when the child moved on
        if parent is None:
            raise Conflict(
                f"Ticket #{child.number} is not merged into another ticket.", code="not_merged"
            )
        mode = child.merge_mode
        perm = "ticket.link" if mode == MergeMode.LINK else "ticket.merge"
        check(actor, perm, child)
        check(actor, perm, parent)
        if mode == MergeMode.LINK:
            if status is not None:
                raise ValidationFailed(
                    "Undoing a link changes no status.",
                    code="invalid_merge_options",
                    fields={"status": ["Not used for a linked ticket."]},
                )
            _unlink_child(child, parent, actor=actor, channel=channel)
        else:
            _unmerge_one(child, parent, mode, status, actor=actor, channel=channel, config=config)
    return child


def _unlink_child(child: Ticket, parent: Ticket, *, actor: Actor, channel: str) -> None:
    low, high = sorted((child.pk, parent.pk))
    TicketLink.objects.filter(low_id=low, high_id=high).delete()
    child.merged_into, child.merge_mode = None, ""
    record(child, ThreadEvent.Kind.UNLINKED, actor, channel, other=ref_ticket(parent), parent=True)
    record(parent, ThreadEvent.Kind.UNLINKED, actor, channel, other=ref_ticket(child), child=True)
    save(child, "merged_into", "merge_mode")
    save(parent)
    send_on_commit(
        signals.ticket_unlinked,
        sender=Ticket,
        ticket=parent,
        actor=actor,
        channel=channel,
        other=child,
    )


def _unmerge_one(
    child: Ticket,
    parent: Ticket,
    mode: str,
    status: TicketStatus | None,
    *,
    actor: Actor,
    channel: str,
    config: HelpdeskSettings,
) -> None:
    require_state(child, State.OPEN, State.CLOSED, action="be unmerged")
    if status is not None:
        if status.state not in (State.OPEN, State.CLOSED):
            raise ValidationFailed(
                f"An unmerged ticket is open or closed, not {status.name}.",
                code="invalid_status",
                fields={"status": ["Choose an open or a closed status."]},
            )
        if status.pk != child.status_id:
            authorize_status(actor, child, status, config)
    moved = 0
    if mode == MergeMode.COMBINE:
        moved = threads.entries_move_back(
            thread_id=parent.thread_id, original_thread_id=child.thread_id
        )
    target = status or _status_before_merge(child)
    child.merged_into, child.merge_mode = None, ""
    fields = ["merged_into", "merge_mode"]
    previous = child.status
    changed = False
    if (
        target is not None
        and target.pk != child.status_id
        and target.state in TRANSITIONS[child.state]
    ):
        fields += apply_status(child, target, actor=actor, channel=channel, config=config)
        changed = True
    data = {"mode": mode, "entries": moved}
    record(child, ThreadEvent.Kind.UNMERGED, actor, channel, other=ref_ticket(parent), **data)
    record(parent, ThreadEvent.Kind.UNMERGED, actor, channel, other=ref_ticket(child), **data)
    save(child, *fields)
    save(parent)
    send_on_commit(
        signals.ticket_unmerged,
        sender=Ticket,
        ticket=child,
        actor=actor,
        channel=channel,
        parent=parent,
        mode=mode,
        entries=moved,
    )
    if changed:
        announce_status(child, actor=actor, channel=channel, previous=previous)


def _status_before_merge(child: Ticket) -> TicketStatus | None:
    """The status the child had before its merge (kept in its `merged` event)."""
    data = (
        ThreadEvent.objects.filter(thread_id=child.thread_id, kind=ThreadEvent.Kind.MERGED)
        .order_by("-created_at", "-id")
        .values_list("data", flat=True)
        .first()
    )
    status_id = ((data or {}).get("status_before") or {}).get("id")
    return TicketStatus.objects.filter(pk=status_id).first() if status_id else None
