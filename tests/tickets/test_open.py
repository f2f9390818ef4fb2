import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from routing.models import ScheduleHours
from threads.models import ThreadEntry, ThreadEvent
from tickets import services, signals
from tickets.models import HelpdeskSettings, State, Ticket

from ..factories import (
    AgentFactory,
    DepartmentFactory,
    ScheduleFactory,
    SLAFactory,
    TeamFactory,
    TopicFactory,
    attachment,
    open_ticket,
    priority,
    role,
    status,
)


def test_a_client_opens_a_ticket_with_its_first_message(cast, django_capture_on_commit_callbacks):
    received = []
    signals.ticket_created.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t-open"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ticket = open_ticket(
                cast.alice, department=cast.dept_a, subject="  VPN   down ", body="Since 9am."
            )
    finally:
        signals.ticket_created.disconnect(dispatch_uid="t-open")

    ticket.refresh_from_db()
    assert ticket.subject == "VPN down"
    assert ticket.requester == cast.alice
    assert ticket.organization == cast.acme
    assert ticket.department == cast.dept_a
    assert ticket.status.name == "Open" and ticket.state == State.OPEN
    assert ticket.priority.name == "Normal"
    assert ticket.number.isdigit() and len(ticket.number) == 6
    assert ticket.version == 1
    entry = ticket.thread.entries.get()
    assert (entry.kind, entry.poster, entry.body_text) == (
        ThreadEntry.Kind.MESSAGE,
        cast.alice,
        "Since 9am.",
    )
    event = ticket.thread.events.get()
    assert event.kind == ThreadEvent.Kind.CREATED
    assert event.actor == cast.alice and event.channel == "portal"
    assert event.data["department"] == {"id": cast.dept_a.pk, "name": "Support"}
    assert (
        len(received) == 1
        and received[0]["ticket"].pk == ticket.pk
        and received[0]["entry"] == entry
    )


def test_the_signal_waits_for_the_commit_and_a_rollback_sends_nothing(
    cast, django_capture_on_commit_callbacks
):
    received = []
    signals.ticket_created.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t-rb"
    )
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            open_ticket(cast.alice, department=cast.dept_a)
        assert received == []  # not sent inside the transaction
        for callback in callbacks:  # the commit
            callback()
        assert len(received) == 1
    finally:
        signals.ticket_created.disconnect(dispatch_uid="t-rb")


def test_the_topic_routes_department_priority_sla_status_and_assignee(cast):
    sla = SLAFactory(grace_hours=4)
    team = TeamFactory(members=[cast.agent_b])
    topic = TopicFactory(
        department=cast.dept_b,
        priority=priority("High"),
        sla=sla,
        status=status("Open"),
        assign_team=team,
    )
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        ticket = open_ticket(cast.alice, topic=topic)
    assert (ticket.department, ticket.priority.name, ticket.sla, ticket.team) == (
        cast.dept_b,
        "High",
        sla,
        team,
    )
    assert ticket.sla_due_at == dt.datetime(2026, 3, 2, 13, 0, tzinfo=dt.UTC)
    kinds = list(ticket.thread.events.values_list("kind", flat=True))
    assert kinds == ["created", "assigned"]


def test_an_explicit_choice_beats_the_topic_and_the_department_sla(cast):
    topic_sla, dept_sla = SLAFactory(grace_hours=4), SLAFactory(grace_hours=12)
    cast.dept_a.sla = dept_sla
    cast.dept_a.save()
    topic = TopicFactory(department=cast.dept_b, priority=priority("High"), sla=topic_sla)
    ticket = open_ticket(
        cast.alice,
        actor=cast.agent_a,
        topic=topic,
        department=cast.dept_a,
        priority=priority("Low"),
    )
    assert (ticket.department, ticket.priority.name, ticket.sla) == (cast.dept_a, "Low", topic_sla)
    plain = open_ticket(cast.alice, department=cast.dept_a)
    assert plain.sla == dept_sla


def test_without_a_department_or_default_the_ticket_is_refused(cast, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        open_ticket(cast.alice)
    assert exc.value.code == "no_department"
    assert Ticket.objects.count() == 0


def test_the_default_department_and_sla_apply(cast):
    sla = SLAFactory(grace_hours=1)
    HelpdeskSettings.objects.filter(pk=1).update(default_department=cast.dept_b, default_sla=sla)
    ticket = open_ticket(cast.alice)
    assert (ticket.department, ticket.sla) == (cast.dept_b, sla)


def test_sla_due_date_counts_business_hours(cast):
    schedule = ScheduleFactory(timezone="UTC")
    for day in range(5):
        ScheduleHours.objects.create(
            schedule=schedule, weekday=day, start_time=dt.time(9), end_time=dt.time(17)
        )
    sla = SLAFactory(grace_hours=10, schedule=schedule)
    friday_3pm = dt.datetime(2026, 3, 6, 15, 0, tzinfo=dt.UTC)
    with time_machine.travel(friday_3pm, tick=False):
        ticket = open_ticket(cast.alice, actor=SYSTEM, department=cast.dept_a, sla=sla)
    # 2 h on Friday, 8 h on Monday
    assert ticket.sla_due_at == dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.UTC)


def test_an_empty_subject_or_body_is_refused_and_nothing_is_written(cast, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        open_ticket(cast.alice, department=cast.dept_a, subject="   ")
    assert exc.value.fields == {"subject": ["This field is required."]}
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        open_ticket(cast.alice, department=cast.dept_a, body="  ")
    assert exc.value.code == "empty_body"
    assert Ticket.objects.count() == 0
    assert ThreadEntry.objects.count() == 0


def test_a_client_cannot_open_a_ticket_for_someone_else(cast, nothing_written):
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        open_ticket(cast.bob, actor=cast.alice, department=cast.dept_a)
    assert refusal.value.code == "permission_denied"
    assert Ticket.objects.count() == 0


def test_a_client_cannot_assign_on_open(cast, nothing_written):
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        open_ticket(cast.alice, department=cast.dept_a, assignee=cast.agent_a)
    assert refusal.value.code == "permission_denied"


def test_an_agent_needs_ticket_create_in_the_target_department(cast, nothing_written):
    viewer = AgentFactory(department=cast.dept_a, role=role("View only"))
    with nothing_written(), pytest.raises(PermissionRefused) as exc:
        open_ticket(cast.alice, actor=viewer, department=cast.dept_a)
    assert str(exc.value) == "Your role in Support does not allow ticket.create."
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        open_ticket(cast.alice, actor=cast.agent_a, department=cast.dept_b)  # no access to B
    assert refusal.value.code == "permission_denied"
    ticket = open_ticket(
        cast.alice, actor=cast.agent_a, department=cast.dept_a, source=Ticket.Source.PHONE
    )
    assert ticket.source == "phone"
    assert ticket.thread.entries.get().poster == cast.agent_a


def test_an_agent_assigning_on_open_needs_ticket_assign(cast, nothing_written):
    opener = AgentFactory(department=cast.dept_a, role=role("View only"), extra_departments={})
    opener.role.permissions = ["ticket.create"]
    opener.role.save()
    with nothing_written(), pytest.raises(PermissionRefused) as exc:
        open_ticket(cast.alice, actor=opener, department=cast.dept_a, assignee=cast.agent_a)
    assert str(exc.value) == "Your role in Support does not allow ticket.assign."


def test_attachments_are_stored_once_per_content(cast):
    t1 = open_ticket(cast.alice, department=cast.dept_a, files=[attachment("a.txt", b"same bytes")])
    t2 = open_ticket(cast.bob, department=cast.dept_a, files=[attachment("b.txt", b"same bytes")])
    a1 = t1.thread.entries.get().attachments.get()
    a2 = t2.thread.entries.get().attachments.get()
    assert (a1.filename, a2.filename) == ("a.txt", "b.txt")
    assert a1.file_id == a2.file_id
    assert a1.file.file.read() == b"same bytes"


def test_an_oversize_attachment_refuses_the_ticket(cast, settings, nothing_written):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENT_BYTES": 10}
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        open_ticket(cast.alice, department=cast.dept_a, files=[attachment(content=b"x" * 11)])
    assert exc.value.code == "attachment_too_large"
    assert Ticket.objects.count() == 0


def test_the_open_ticket_limit_applies_to_clients_not_agents(cast, nothing_written):
    HelpdeskSettings.objects.filter(pk=1).update(max_open_tickets=1)
    open_ticket(cast.alice, department=cast.dept_a)
    with nothing_written(), pytest.raises(Conflict) as exc:
        open_ticket(cast.alice, department=cast.dept_a)
    assert exc.value.code == "too_many_open_tickets"
    open_ticket(cast.alice, actor=cast.agent_a, department=cast.dept_a)
    assert Ticket.objects.filter(requester=cast.alice).count() == 2


def test_collaborators_join_on_open(cast):
    ticket = open_ticket(
        cast.alice, actor=cast.agent_a, department=cast.dept_a, collaborators=[cast.bob, cast.alice]
    )
    assert list(ticket.thread.collaborators.values_list("user__email", flat=True)) == [
        cast.bob.email
    ]


def test_a_pre_open_receiver_can_adjust_or_reject(cast, nothing_written):
    def adjust(data, **kw):
        data["priority"] = priority("Emergency")
        if "spam" in data["subject"]:
            raise PermissionRefused("Rejected by a filter.", code="rejected")

    signals.ticket_pre_open.connect(adjust, dispatch_uid="t-pre")
    try:
        ticket = open_ticket(cast.alice, department=cast.dept_a)
        assert ticket.priority.name == "Emergency"
        with nothing_written(), pytest.raises(PermissionRefused) as refusal:
            open_ticket(cast.alice, department=cast.dept_a, subject="buy spam now")
        assert refusal.value.code == "rejected"
    finally:
        signals.ticket_pre_open.disconnect(dispatch_uid="t-pre")
    assert Ticket.objects.count() == 1


def test_a_topic_with_a_closed_initial_status_opens_closed(cast):
    topic = TopicFactory(department=cast.dept_a, status=status("Resolved"))
    ticket = open_ticket(cast.alice, topic=topic, actor=SYSTEM)
    assert ticket.state == State.CLOSED and ticket.closed_at is not None


def test_a_due_date_set_on_open_must_be_in_the_future(cast, nothing_written):
    with nothing_written(), pytest.raises(ValidationFailed) as refusal:
        open_ticket(
            cast.alice,
            actor=cast.agent_a,
            department=cast.dept_a,
            due_at=timezone.now() - dt.timedelta(hours=1),
        )
    assert refusal.value.code == "invalid"


def test_html_bodies_are_sanitised(cast):
    ticket = open_ticket(
        cast.alice,
        department=cast.dept_a,
        body='<p onclick="x()">Hi<script>alert(1)</script></p>',
        fmt="html",
    )
    entry = ticket.thread.entries.get()
    assert entry.body_html == "<p>Hi</p>"
    assert entry.body_text == "Hi"


def test_an_inactive_requester_is_refused(cast, nothing_written):
    cast.alice.is_active = False
    cast.alice.save()
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        services.ticket_open(
            actor=SYSTEM,
            new=services.NewTicket(
                requester=cast.alice, subject="x", body="y", department=cast.dept_a
            ),
        )
    assert refusal.value.code == "requester_inactive"


def test_banned_senders_are_rejected_but_agents_may_still_open_for_them(cast, nothing_written):
    from routing.models import BannedEmail

    BannedEmail.objects.create(address="@acme.test")
    with nothing_written(), pytest.raises(PermissionRefused) as exc:
        services.ticket_open(
            actor=SYSTEM,
            new=services.NewTicket(
                requester=cast.alice, subject="x", body="y", department=cast.dept_a
            ),
        )
    assert exc.value.code == "rejected"
    assert str(exc.value) == "Ticket denied: alice@acme.test is banned."
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        open_ticket(cast.alice, department=cast.dept_a)
    assert refusal.value.code == "rejected"
    assert open_ticket(cast.bob, department=cast.dept_a).requester == cast.bob
    assert (
        open_ticket(cast.alice, actor=cast.agent_a, department=cast.dept_a).requester == cast.alice
    )


@pytest.mark.parametrize(
    ("choice", "error"),
    [
        ({"priority": "Emergency"}, PermissionRefused),
        ({"collaborators": "bob"}, PermissionRefused),
        ({"alert": False}, PermissionRefused),
        ({"autorespond": False}, PermissionRefused),
        ({"source": Ticket.Source.PHONE}, ValidationFailed),
        ({"topic": "internal"}, ValidationFailed),
        ({"department": "private"}, ValidationFailed),
    ],
)
def test_clients_choose_only_a_public_topic_or_department(cast, choice, error, nothing_written):
    """The audit's finding: through the API a client could set what only the helpdesk
    decides (priority, internal topics, collaborators, silencing the staff alert)."""
    values = {
        "priority": lambda: priority("Emergency"),
        "collaborators": lambda: [cast.bob],
        "topic": lambda: TopicFactory(department=cast.dept_a, is_public=False),
        "department": lambda: DepartmentFactory(is_public=False),
    }
    kwargs = {k: (values[k]() if k in values else v) for k, v in choice.items()}
    kwargs.setdefault("department", cast.dept_a)
    with nothing_written(), pytest.raises(error):
        services.ticket_open(
            actor=cast.alice,
            new=services.NewTicket(requester=cast.alice, subject="x", body="y", **kwargs),
        )
    assert Ticket.objects.count() == 0
    # the same choices are the helpdesk's: an agent may make them
    if "topic" not in kwargs and "department" not in choice:
        services.ticket_open(
            actor=cast.agent_a,
            new=services.NewTicket(requester=cast.alice, subject="x", body="y", **kwargs),
        )
