"""Ticket fields: priority, due date, answered flag, and the editable details."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.errors import ValidationFailed
from accounts.models import User
from routing.models import SLA, HelpTopic
from routing.sla import sla_due_at
from threads.models import ThreadEvent

from .. import customfields, signals
from ..models import Priority, State, Ticket, TicketFieldValue
from ..permissions import check
from ._common import (
    UNSET,
    Unset,
    announce,
    channel_of,
    clean_subject,
    clock_start,
    lock,
    record,
    ref,
    require_state,
    save,
)

LIVE = (State.OPEN, State.CLOSED)


def ticket_set_priority(
    *,
    actor: Actor,
    ticket: Ticket,
    priority: Priority,
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    channel = channel_of(actor, channel)
    with transaction.atomic():
        t = lock(ticket, expected_version)
        check(actor, "ticket.edit", t)
        require_state(t, *LIVE, action="change the priority")
        previous = t.priority
        if previous.pk == priority.pk:
            return t
        t.priority = priority
        record(
            t,
            ThreadEvent.Kind.PRIORITY_CHANGED,
            actor,
            channel,
            before=ref(previous),
            after=ref(priority),
        )
        save(t, "priority")
        announce(
            signals.ticket_priority_changed,
            t,
            actor,
            channel,
            previous_priority=previous,
            priority=priority,
        )
    return t


def ticket_set_due_date(
    *,
    actor: Actor,
    ticket: Ticket,
    due_at: dt.datetime | None,
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Set (or with None clear) the agent's due date; it wins over the SLA's."""
    channel = channel_of(actor, channel)
    if due_at is not None and due_at <= timezone.now():
        raise ValidationFailed(
            "The due date must be in the future.",
            code="due_in_past",
            fields={"due_at": ["Must be in the future."]},
        )
    with transaction.atomic():
        t = lock(ticket, expected_version)
        check(actor, "ticket.edit", t)
        require_state(t, State.OPEN, action="set a due date")
        previous = t.due_at
        if previous == due_at:
            return t
        t.due_at = due_at
        t.is_overdue = False
        record(
            t,
            ThreadEvent.Kind.DUE_DATE_CHANGED,
            actor,
            channel,
            before=previous.isoformat() if previous else None,
            after=due_at.isoformat() if due_at else None,
        )
        save(t, "due_at", "is_overdue")
        announce(
            signals.ticket_due_date_changed,
            t,
            actor,
            channel,
            previous_due_at=previous,
            due_at=due_at,
        )
    return t


def ticket_mark_answered(
    *,
    actor: Actor,
    ticket: Ticket,
    answered: bool,
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    channel = channel_of(actor, channel)
    with transaction.atomic():
        t = lock(ticket, expected_version)
        check(actor, "ticket.markanswered", t)
        require_state(t, State.OPEN, action="mark it answered")
        if t.is_answered == answered:
            return t
        t.is_answered = answered
        record(
            t,
            ThreadEvent.Kind.ANSWERED_CHANGED,
            actor,
            channel,
            before=not answered,
            after=answered,
        )
        save(t, "is_answered")
        announce(signals.ticket_answered_changed, t, actor, channel, answered=answered)
    return t


def ticket_edit(
    *,
    actor: Actor,
    ticket: Ticket,
    subject: str | Unset = UNSET,
    topic: HelpTopic | Unset | None = UNSET,
    sla: SLA | Unset | None = UNSET,
    requester: User | Unset = UNSET,
    custom_fields: Mapping[str, Any] | Unset = UNSET,
    channel: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Edit the details. Give only what changes; `topic=None` or `sla=None` clears it.

    A new SLA counts the due date again from the clock's start. A new requester brings
    their organization along. `custom_fields` ({name: value}) sets the named fields of
    the ticket's topic (a required one cannot be emptied).
    """
    channel = channel_of(actor, channel)
    with transaction.atomic():
        t = lock(ticket, expected_version)
        check(actor, "ticket.edit", t)
        require_state(t, *LIVE, action="edit it")
        changes: dict[str, list[Any]] = {}
        if subject is not UNSET:
            subject = clean_subject(subject)
            if subject != t.subject:
                changes["subject"] = [t.subject, subject]
                t.subject = subject
        if topic is not UNSET and getattr(topic, "pk", None) != t.topic_id:
            changes["topic"] = [ref(t.topic), ref(topic)]
            t.topic = topic
        if sla is not UNSET and getattr(sla, "pk", None) != t.sla_id:
            changes["sla"] = [ref(t.sla), ref(sla)]
            t.sla = sla
            t.sla_due_at = (
                sla_due_at(clock_start(t), sla) if t.state == State.OPEN else t.sla_due_at
            )
        if requester is not UNSET and requester.pk != t.requester_id:
            if not requester.is_active:
                raise ValidationFailed(
                    f"{requester} is not an active user.", fields={"requester": ["Not active."]}
                )
            changes["requester"] = [ref(t.requester), ref(requester)]
            t.requester, t.organization_id = requester, requester.organization_id
        if custom_fields is not UNSET:
            changes.update(_set_custom_fields(t, custom_fields))
        if not changes:
            return t
        record(t, ThreadEvent.Kind.EDITED, actor, channel, changes=changes)
        save(t, "subject", "topic", "sla", "sla_due_at", "requester", "organization")
        announce(signals.ticket_edited, t, actor, channel, changes=changes)
    return t


def _set_custom_fields(ticket: Ticket, submitted: Mapping[str, Any]) -> dict[str, list[Any]]:
    fields = [f for f in customfields.fields_for_topic(ticket.topic) if f.name in submitted]
    cleaned = customfields.clean_values(fields, dict(submitted))
    current = {v.field_id: v for v in ticket.field_values.all()}
    changes = {}
    for field, value in cleaned.items():
        old = current.get(field.pk)
        if old is not None and old.value == value:
            continue
        changes[f"field.{field.name}"] = [old.value if old else "", value]
        TicketFieldValue.objects.update_or_create(
            ticket=ticket, field=field, defaults={"value": value}
        )
    return changes
