"""Every lifecycle service writes its event and sends its signal, after commit."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from threads.models import Collaborator, ThreadEntry
from tickets import services, signals
from tickets.models import Ticket, TicketLink

from ..factories import (
    SLAFactory,
    TeamFactory,
    TopicFactory,
    attachment,
    open_ticket,
    priority,
    status,
)


@pytest.fixture
def ticket(cast):
    return open_ticket(cast.alice, department=cast.dept_a)


def _assigned(cast, t):
    return services.ticket_assign(actor=cast.admin, ticket=t, agent=cast.agent_a)


# name: (prepare, act, event kind, signal, extra signal kwargs to check)
SCENARIOS = {
    "message": (
        None,
        lambda c, t: services.ticket_post_message(actor=c.alice, ticket=t, body="More info."),
        "message",
        "ticket_message_posted",
        {"reopened": False},
    ),
    "reply": (
        None,
        lambda c, t: services.ticket_post_reply(actor=c.agent_a, ticket=t, body="Answer."),
        "response",
        "ticket_reply_posted",
        {},
    ),
    "note": (
        None,
        lambda c, t: services.ticket_post_note(actor=c.agent_a, ticket=t, body="Internal."),
        "note",
        "ticket_note_posted",
        {},
    ),
    "assign": (
        None,
        lambda c, t: services.ticket_assign(actor=c.agent_a, ticket=t, agent=c.manager_a),
        "assigned",
        "ticket_assigned",
        {"claimed": False},
    ),
    "claim": (
        None,
        lambda c, t: services.ticket_claim(actor=c.agent_a, ticket=t),
        "assigned",
        "ticket_assigned",
        {"claimed": True},
    ),
    "release": (
        _assigned,
        lambda c, t: services.ticket_release(actor=c.agent_a, ticket=t),
        "released",
        "ticket_released",
        {},
    ),
    "transfer": (
        None,
        lambda c, t: services.ticket_transfer(actor=c.agent_a, ticket=t, department=c.dept_b),
        "transferred",
        "ticket_transferred",
        {},
    ),
    "refer": (
        None,
        lambda c, t: services.ticket_refer(actor=c.agent_a, ticket=t, agent=c.agent_b),
        "referred",
        "ticket_referred",
        {},
    ),
    "status": (
        None,
        lambda c, t: services.ticket_set_status(
            actor=c.agent_a, ticket=t, status=status("Resolved")
        ),
        "status_changed",
        "ticket_status_changed",
        {},
    ),
    "priority": (
        None,
        lambda c, t: services.ticket_set_priority(
            actor=c.agent_a, ticket=t, priority=priority("High")
        ),
        "priority_changed",
        "ticket_priority_changed",
        {},
    ),
    "due_date": (
        None,
        lambda c, t: services.ticket_set_due_date(
            actor=c.agent_a, ticket=t, due_at=timezone.now() + dt.timedelta(days=1)
        ),
        "due_date_changed",
        "ticket_due_date_changed",
        {},
    ),
    "answered": (
        None,
        lambda c, t: services.ticket_mark_answered(actor=c.agent_a, ticket=t, answered=True),
        "answered_changed",
        "ticket_answered_changed",
        {"answered": True},
    ),
    "edit": (
        None,
        lambda c, t: services.ticket_edit(actor=c.agent_a, ticket=t, subject="Renamed"),
        "edited",
        "ticket_edited",
        {"changes": {"subject": ["Printer on fire", "Renamed"]}},
    ),
    "merge": (
        None,
        lambda c, t: services.ticket_merge(
            actor=c.agent_a, ticket=t, sources=[open_ticket(c.bob, department=c.dept_a)]
        ),
        "merged",
        "ticket_merged",
        {},
    ),
    "link": (
        None,
        lambda c, t: services.ticket_link(
            actor=c.agent_a, ticket=t, other=open_ticket(c.bob, department=c.dept_a)
        ),
        "linked",
        "ticket_linked",
        {},
    ),
    "collaborator_added": (
        None,
        lambda c, t: services.ticket_add_collaborator(actor=c.agent_a, ticket=t, user=c.bob),
        "collaborator_added",
        "ticket_collaborator_added",
        {},
    ),
    "collaborator_removed": (
        lambda c, t: services.ticket_add_collaborator(actor=c.admin, ticket=t, user=c.bob),
        lambda c, t: services.ticket_remove_collaborator(actor=c.agent_a, ticket=t, user=c.bob),
        "collaborator_removed",
        "ticket_collaborator_removed",
        {},
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_service_writes_one_event_and_sends_its_signal_after_commit(
    cast, ticket, name, django_capture_on_commit_callbacks
):
    prepare, act, kind, signal_name, expected = SCENARIOS[name]
    if prepare:
        ticket = prepare(cast, ticket)
    ticket.refresh_from_db()
    version = ticket.version
    last_event = ticket.thread.events.latest("id").pk
    received = []
    signal = getattr(signals, signal_name)
    signal.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t-sig")
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            act(cast, ticket)
        assert received == []  # nothing before the commit
        for callback in callbacks:
            callback()
    finally:
        signal.disconnect(dispatch_uid="t-sig")

    actor, channel = (cast.alice, "portal") if name == "message" else (cast.agent_a, "panel")
    new_events = list(
        ticket.thread.events.filter(pk__gt=last_event).values_list("kind", "actor", "channel")
    )
    assert (kind, actor.pk, channel) in new_events
    assert [k for k, _, _ in new_events].count(kind) == 1
    assert len(received) == 1
    sent = received[0]
    assert (sent["ticket"].pk, sent["actor"], sent["channel"]) == (ticket.pk, actor, channel)
    for key, value in expected.items():
        assert sent[key] == value
    assert Ticket.objects.get(pk=ticket.pk).version > version


def test_a_message_as_a_client_from_the_portal_names_the_channel(cast, ticket):
    posted = services.ticket_post_message(
        actor=cast.alice, ticket=ticket, body="Hi", files=[attachment()]
    )
    event = posted.ticket.thread.events.latest("id")
    assert (event.kind, event.channel, event.data) == (
        "message",
        "portal",
        {"entry": posted.entry.pk},
    )
    assert posted.entry.attachments.get().filename == "notes.txt"
    assert posted.ticket.is_answered is False
    assert posted.ticket.last_message_at > ticket.last_message_at


def test_a_reply_marks_the_ticket_answered_and_a_message_unanswered(cast, ticket):
    t = services.ticket_post_reply(actor=cast.agent_a, ticket=ticket, body="Answer").ticket
    assert t.is_answered and t.last_response_at is not None
    t = services.ticket_post_message(actor=cast.alice, ticket=t, body="Thanks, but...").ticket
    assert not t.is_answered


def test_agents_do_not_post_client_messages(cast, ticket, nothing_written):
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_post_message(actor=cast.agent_a, ticket=ticket, body="x")
    assert refusal.value.code == "permission_denied"


def test_claiming_a_ticket_someone_holds_is_a_conflict_naming_them(cast, ticket, nothing_written):
    services.ticket_claim(actor=cast.manager_a, ticket=ticket)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.ticket_claim(actor=cast.agent_a, ticket=ticket)
    assert exc.value.code == "already_assigned"
    assert str(exc.value) == (f"Ticket #{ticket.number} is already assigned to {cast.manager_a}.")
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.ticket_claim(actor=cast.manager_a, ticket=ticket)
    assert exc.value.code == "already_yours"


def test_assign_to_a_team_keeps_the_agent(cast, ticket):
    team = TeamFactory(members=[cast.agent_a])
    t = services.ticket_assign(actor=cast.admin, ticket=ticket, agent=cast.agent_a)
    t = services.ticket_assign(actor=cast.admin, ticket=t, team=team)
    assert (t.assignee, t.team) == (cast.agent_a, team)
    event = t.thread.events.latest("id")
    assert (
        event.data["previous_agent"]["id"] == cast.agent_a.pk
        and event.data["team"]["id"] == team.pk
    )


def test_assign_only_to_members_is_enforced(cast, ticket, nothing_written):
    cast.dept_a.assign_members_only = True
    cast.dept_a.save()
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        services.ticket_assign(actor=cast.admin, ticket=ticket, agent=cast.agent_b)
    assert exc.value.code == "assignee_not_member"
    with nothing_written(), pytest.raises(ValidationFailed) as refusal:
        services.ticket_assign(actor=cast.admin, ticket=ticket, agent=cast.alice)  # not an agent
    assert refusal.value.code == "invalid_assignee"


def test_releasing_an_unassigned_ticket_is_a_conflict(cast, ticket, nothing_written):
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.ticket_release(actor=cast.agent_a, ticket=ticket)
    assert exc.value.code == "not_assigned"


def test_transfer_replaces_a_transient_sla_and_keeps_a_fixed_one(cast, ticket):
    transient, fixed, billing_sla = (
        SLAFactory(is_transient=True, grace_hours=2),
        SLAFactory(grace_hours=3),
        SLAFactory(grace_hours=48),
    )
    cast.dept_b.sla = billing_sla
    cast.dept_b.save()
    t = services.ticket_edit(actor=cast.admin, ticket=ticket, sla=transient)
    t = services.ticket_transfer(actor=cast.admin, ticket=t, department=cast.dept_b)
    assert t.sla == billing_sla
    assert t.sla_due_at == t.created_at + dt.timedelta(hours=48)
    t = services.ticket_edit(actor=cast.admin, ticket=t, sla=fixed)
    t = services.ticket_transfer(actor=cast.admin, ticket=t, department=cast.dept_a)
    assert t.sla == fixed


def test_transfer_to_the_same_department_is_refused(cast, ticket, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        services.ticket_transfer(actor=cast.agent_a, ticket=ticket, department=cast.dept_a)
    assert exc.value.code == "same_department"


def test_a_closed_ticket_cannot_be_transferred_or_assigned(cast, ticket, nothing_written):
    t = services.ticket_set_status(actor=cast.agent_a, ticket=ticket, status=status("Closed"))
    with nothing_written(), pytest.raises(Conflict) as refusal:
        services.ticket_transfer(actor=cast.agent_a, ticket=t, department=cast.dept_b)
    assert refusal.value.code == "ticket_closed"
    with nothing_written(), pytest.raises(Conflict) as refusal2:
        services.ticket_assign(actor=cast.agent_a, ticket=t, agent=cast.agent_a)
    assert refusal2.value.code == "ticket_closed"


def test_referring_twice_is_a_conflict(cast, ticket, nothing_written):
    services.ticket_refer(actor=cast.agent_a, ticket=ticket, department=cast.dept_b)
    with nothing_written(), pytest.raises(Conflict) as refusal:
        services.ticket_refer(actor=cast.agent_a, ticket=ticket, department=cast.dept_b)
    assert refusal.value.code == "already_referred"
    assert ticket.thread.referrals.count() == 1


def test_a_due_date_in_the_past_is_refused(cast, ticket, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as refusal:
        services.ticket_set_due_date(
            actor=cast.agent_a, ticket=ticket, due_at=timezone.now() - dt.timedelta(minutes=1)
        )
    assert refusal.value.code == "due_in_past"


def test_editing_the_requester_brings_their_organization(cast, ticket):
    t = services.ticket_edit(actor=cast.agent_a, ticket=ticket, requester=cast.bob)
    assert (t.requester, t.organization) == (cast.bob, cast.globex)
    topic = TopicFactory()
    t = services.ticket_edit(actor=cast.agent_a, ticket=t, topic=topic)
    t = services.ticket_edit(actor=cast.agent_a, ticket=t, topic=None)
    assert t.topic is None
    assert t.thread.events.filter(kind="edited").count() == 3


def test_an_edit_that_changes_nothing_records_nothing(cast, ticket):
    t = services.ticket_edit(actor=cast.agent_a, ticket=ticket, subject="Printer on fire")
    assert t.version == ticket.version
    assert not t.thread.events.filter(kind="edited").exists()


def test_merge_moves_entries_copies_people_closes_and_links(cast, ticket):
    services.ticket_add_collaborator(actor=cast.admin, ticket=ticket, user=cast.stranger)
    dup = open_ticket(cast.bob, department=cast.dept_a, subject="Same printer")
    services.ticket_add_collaborator(actor=cast.admin, ticket=dup, user=cast.alice_colleague)
    services.ticket_post_note(actor=cast.agent_a, ticket=dup, body="Dup note")

    target = services.ticket_merge(actor=cast.agent_a, ticket=ticket, sources=[dup])

    dup.refresh_from_db()
    assert dup.merged_into == target and dup.state == "closed" and dup.status.name == "Closed"
    assert dup.thread.entries.count() == 0
    moved = target.thread.entries.filter(original_thread_id=dup.thread_id)
    assert sorted(moved.values_list("kind", flat=True)) == ["message", "note"]
    collaborators = set(
        Collaborator.objects.filter(thread=target.thread).values_list("user__email", flat=True)
    )
    assert collaborators == {cast.stranger.email, cast.bob.email, cast.alice_colleague.email}
    assert TicketLink.objects.filter(
        low=min(ticket.pk, dup.pk), high=max(ticket.pk, dup.pk)
    ).exists()
    assert dup.thread.events.filter(kind="merged").get().data["into_number"] == target.number
    # a later message to the merged ticket lands on the surviving one
    posted = services.ticket_post_message(actor=cast.bob, ticket=dup, body="Any update?")
    assert posted.ticket.pk == target.pk


def test_merging_a_ticket_into_itself_or_twice_is_refused(cast, ticket, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as refusal:
        services.ticket_merge(actor=cast.agent_a, ticket=ticket, sources=[ticket])
    assert refusal.value.code == "invalid_merge"
    dup = open_ticket(cast.bob, department=cast.dept_a)
    services.ticket_merge(actor=cast.agent_a, ticket=ticket, sources=[dup])
    third = open_ticket(cast.bob, department=cast.dept_a)
    with nothing_written(), pytest.raises(Conflict) as refusal2:
        services.ticket_merge(actor=cast.agent_a, ticket=third, sources=[dup])
    assert refusal2.value.code == "already_merged"


def test_link_and_unlink(cast, ticket, nothing_written):
    other = open_ticket(cast.bob, department=cast.dept_a)
    services.ticket_link(actor=cast.agent_a, ticket=ticket, other=other)
    with nothing_written(), pytest.raises(Conflict) as refusal:
        services.ticket_link(actor=cast.agent_a, ticket=other, other=ticket)
    assert refusal.value.code == "already_linked"
    services.ticket_unlink(actor=cast.agent_a, ticket=other, other=ticket)
    assert not TicketLink.objects.exists()
    assert list(other.thread.events.values_list("kind", flat=True))[-2:] == ["linked", "unlinked"]


def test_the_requester_cannot_be_a_collaborator(cast, ticket, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as refusal:
        services.ticket_add_collaborator(actor=cast.agent_a, ticket=ticket, user=cast.alice)
    assert refusal.value.code == "is_requester"


def test_a_note_is_never_public(cast, ticket):
    posted = services.ticket_post_note(
        actor=cast.agent_a, ticket=ticket, body="Secret", title="Why"
    )
    assert posted.entry.kind == ThreadEntry.Kind.NOTE and posted.entry.is_public is False
