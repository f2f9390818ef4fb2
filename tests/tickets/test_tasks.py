"""Tasks: the services (create, edit, assign, claim, release, transfer, update, close,
reopen, delete), who may do what, who sees which task, and the close guards."""

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from accounts.actors import SYSTEM, ApiKeyActor
from accounts.errors import Conflict, NotVisible, PermissionRefused, StaleVersion, ValidationFailed
from accounts.models import Role
from threads.models import Attachment, Lock, ThreadEntry, ThreadEvent
from tickets import services, signals
from tickets.models import (
    CustomField,
    CustomForm,
    HelpdeskSettings,
    State,
    Task,
    TaskFieldValue,
    TaskState,
    Ticket,
    TicketSequence,
)
from tickets.selectors import task_get_for, tasks_visible_to

from ..factories import (
    AgentFactory,
    TeamFactory,
    TopicFactory,
    attachment,
    open_ticket,
    role,
    status,
)


@pytest.fixture
def ticket(cast):
    return open_ticket(cast.alice, department=cast.dept_a)


def new_task(actor, **kw) -> Task:
    kw.setdefault("title", "Order the part")
    return services.task_create(actor=actor, new=services.NewTask(**kw))


def rows() -> dict[str, int]:
    """Counts of what a task operation writes: nothing of it may change on a refusal."""
    return {
        "tasks": Task.objects.count(),
        "entries": ThreadEntry.objects.count(),
        "events": ThreadEvent.objects.count(),
        "values": TaskFieldValue.objects.count(),
        "sequence": sum(TicketSequence.objects.values_list("next_value", flat=True)),
    }


def task_row(task: Task) -> dict:
    return Task.objects.filter(pk=task.pk).values().get()


# --- creating ---------------------------------------------------------------------------


def test_a_standalone_task_gets_its_own_sequence_thread_and_event(cast):
    HelpdeskSettings.objects.filter(pk=1).update(default_task_department=cast.dept_b)
    first = new_task(cast.admin, description="Two of them, blue.")
    second = new_task(cast.admin, title="  Call   the client back ")
    assert (first.number, second.number) == ("1", "2")  # osTicket's default mask: #
    assert second.title == "Call the client back"
    assert first.department == cast.dept_b and first.ticket is None
    assert first.state == TaskState.OPEN and first.created_by == cast.admin
    (entry,) = ThreadEntry.objects.filter(thread_id=first.thread_id)
    assert entry.kind == "note" and entry.body_text == "Two of them, blue."
    assert not ThreadEntry.objects.filter(thread_id=second.thread_id).exists()
    event = ThreadEvent.objects.get(thread_id=first.thread_id)
    assert event.kind == "created" and event.data["department"]["id"] == cast.dept_b.pk


def test_task_numbers_follow_their_own_mask_and_mode(cast):
    HelpdeskSettings.objects.filter(pk=1).update(
        task_number_format="T-###", task_number_mode="sequence", default_task_department=cast.dept_a
    )
    TicketSequence.objects.update_or_create(pk=2, defaults={"next_value": 41})
    assert [new_task(cast.admin).number for _ in range(2)] == ["T-041", "T-042"]
    HelpdeskSettings.objects.filter(pk=1).update(task_number_mode="random", task_number_format="##")
    drawn = new_task(cast.admin).number
    assert len(drawn) == 2 and drawn.isdigit() and drawn[0] != "0"
    # the tickets' sequence did not move
    assert not TicketSequence.objects.filter(pk=1, next_value__gt=1).exists()


def test_a_task_needs_a_department_and_a_title_and_refusing_writes_nothing(cast):
    before = rows()
    with pytest.raises(ValidationFailed) as exc:
        new_task(cast.admin)
    assert exc.value.code == "department_required"
    with pytest.raises(ValidationFailed) as exc:
        new_task(cast.admin, title="  ", department=cast.dept_a)
    assert exc.value.code == "title_required"
    assert rows() == before


def test_a_tickets_task_leaves_a_line_on_the_ticket(
    cast, ticket, django_capture_on_commit_callbacks
):
    received = []
    signals.task_created.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            task = new_task(cast.agent_a, ticket=ticket, assignee=cast.agent_a)
    finally:
        signals.task_created.disconnect(dispatch_uid="t")
    assert task.department == ticket.department and task.ticket == ticket
    line = ThreadEvent.objects.get(thread_id=ticket.thread_id, kind="task_created")
    assert line.data["task"] == {"id": task.pk, "number": task.number, "title": task.title}
    assert line.actor == cast.agent_a
    ticket_after = Ticket.objects.get(pk=ticket.pk)
    assert ticket_after.version == ticket.version + 1
    assert [r["task"] for r in received] == [task]


def test_a_closed_ticket_takes_no_new_tasks(cast, ticket):
    services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status("Closed"))
    before = rows()
    with pytest.raises(Conflict) as exc:
        new_task(cast.admin, ticket=Ticket.objects.get(pk=ticket.pk))
    assert exc.value.code == "ticket_closed"
    assert rows() == before


def test_create_task_from_an_entry_takes_its_text_and_files(cast):
    ticket = open_ticket(
        cast.alice,
        department=cast.dept_a,
        body="The <b>part</b> number is 42.",
        fmt="html",
        files=[attachment("photo.png", b"\x89PNG...", "image/png")],
    )
    entry = ThreadEntry.objects.get(thread_id=ticket.thread_id)
    task = new_task(cast.agent_a, ticket=ticket, entry=entry)
    (first,) = ThreadEntry.objects.filter(thread_id=task.thread_id)
    assert "<b>part</b>" in first.body_html and first.format == "html"
    (copied,) = Attachment.objects.filter(entry=first)
    assert copied.filename == "photo.png"
    assert copied.file_id == entry.attachments.get().file_id  # the same stored file
    assert ThreadEvent.objects.get(thread_id=task.thread_id, kind="created").data["entry"] == (
        entry.pk
    )


def test_an_entry_of_another_ticket_is_refused(cast, ticket):
    other = open_ticket(cast.bob, department=cast.dept_a)
    entry = ThreadEntry.objects.get(thread_id=other.thread_id)
    before = rows()
    with pytest.raises(ValidationFailed) as exc:
        new_task(cast.agent_a, ticket=ticket, entry=entry)
    assert exc.value.code == "entry_not_in_ticket"
    assert rows() == before


def test_task_form_fields_are_checked_and_stored(cast):
    form = CustomForm.objects.create(name="Task Details", scope=CustomForm.Scope.TASK)
    CustomField.objects.create(form=form, name="part", label="Part", required=True)
    before = rows()
    with pytest.raises(ValidationFailed) as exc:
        new_task(cast.admin, department=cast.dept_a)
    assert exc.value.fields == {"part": ["This field is required."]}
    assert rows() == before
    task = new_task(cast.admin, department=cast.dept_a, custom_fields={"part": "X-42"})
    assert TaskFieldValue.objects.get(task=task).value == "X-42"
    services.task_edit(actor=cast.admin, task=task, custom_fields={"part": "X-43"})
    assert TaskFieldValue.objects.get(task=task).value == "X-43"
    edited = ThreadEvent.objects.get(thread_id=task.thread_id, kind="edited")
    assert edited.data["changes"] == {"field.part": ["X-42", "X-43"]}


# --- who may ------------------------------------------------------------------------------


def test_creating_needs_task_create_in_the_tickets_department(cast, ticket):
    viewer = AgentFactory(department=cast.dept_a, role=role("View only"))
    before = rows()
    with pytest.raises(PermissionRefused):
        new_task(viewer, ticket=ticket)
    with pytest.raises(NotVisible):  # agent_b works in Billing: the ticket is not theirs
        new_task(cast.agent_b, ticket=ticket)
    with pytest.raises(PermissionRefused):  # clients never touch tasks
        new_task(cast.alice, ticket=ticket)
    with pytest.raises(PermissionRefused):  # a standalone task in a department not theirs
        new_task(cast.agent_a, department=cast.dept_b)
    assert rows() == before
    assert new_task(cast.manager_a, ticket=ticket).department == cast.dept_a  # Limited Access


def test_an_api_key_creates_tasks_only_in_its_write_scope(cast, ticket):
    dept = frozenset({cast.dept_a.pk})
    actor = ApiKeyActor(key_id=7, label="crm", read_departments=dept, write_departments=dept)
    assert new_task(actor, ticket=ticket).created_by is None
    before = rows()
    with pytest.raises(PermissionRefused):
        new_task(actor, department=cast.dept_b)
    assert rows() == before


def test_every_task_service_checks_its_permission(cast, ticket):
    task = new_task(cast.admin, ticket=ticket)
    viewer = AgentFactory(department=cast.dept_a, role=role("View only"))
    calls = {
        "edit": lambda: services.task_edit(actor=viewer, task=task, title="x"),
        "assign": lambda: services.task_assign(actor=viewer, task=task, agent=cast.agent_a),
        "claim": lambda: services.task_claim(actor=viewer, task=task),
        "transfer": lambda: services.task_transfer(actor=viewer, task=task, department=cast.dept_b),
        "update": lambda: services.task_post_update(actor=viewer, task=task, body="x"),
        "close": lambda: services.task_close(actor=viewer, task=task),
        "delete": lambda: services.task_delete(actor=viewer, task=task),
    }
    before, row = rows(), task_row(task)
    for name, call in calls.items():
        with pytest.raises(PermissionRefused):
            call()
        assert task_row(task) == row, name
    assert rows() == before
    # Limited Access (the manager's role) may not close or delete: osTicket's grants
    with pytest.raises(PermissionRefused):
        services.task_close(actor=cast.manager_a, task=task)
    services.task_assign(actor=cast.manager_a, task=task, agent=cast.agent_a)


def test_seeded_roles_hold_osTickets_task_permissions(db):
    assert set(role("All Access").permissions) >= {
        "task.create",
        "task.edit",
        "task.assign",
        "task.transfer",
        "task.reply",
        "task.close",
        "task.delete",
    }
    assert "task.delete" not in role("Expanded Access").permissions
    assert "task.close" in role("Expanded Access").permissions
    limited = {p for p in role("Limited Access").permissions if p.startswith("task.")}
    assert limited == {"task.create", "task.assign", "task.transfer", "task.reply"}
    assert role("View only").permissions == []


@pytest.mark.django_db
def test_the_role_migration_leaves_customised_roles_alone():
    migration = importlib.import_module("accounts.migrations.0008_seed_roles_tasks")
    seeded = Role.objects.get(name="Limited Access")
    seeded.permissions = sorted(migration.LIMITED_BEFORE)
    seeded.save()
    custom = Role.objects.get(name="Expanded Access")
    custom.permissions = sorted(migration.EXPANDED_BEFORE - {"ticket.merge"})
    custom.save()
    migration.grant(django_apps, None)
    seeded.refresh_from_db()
    custom.refresh_from_db()
    assert "task.create" in seeded.permissions
    assert set(custom.permissions) == migration.EXPANDED_BEFORE - {"ticket.merge"}
    migration.revoke(django_apps, None)
    seeded.refresh_from_db()
    assert set(seeded.permissions) == migration.LIMITED_BEFORE


# --- who sees -----------------------------------------------------------------------------


def test_visibility_departments_assignment_tickets_and_never_clients(cast, ticket):
    in_a = new_task(cast.admin, ticket=ticket)
    in_b = new_task(cast.admin, department=cast.dept_b)
    team = TeamFactory(members=[cast.agent_a])
    b_for_team = new_task(cast.admin, department=cast.dept_b, team=team)
    b_of_ticket_a = new_task(cast.admin, ticket=ticket, department=cast.dept_b)
    seen = set(tasks_visible_to(user=cast.agent_a))
    assert seen == {in_a, b_for_team, b_of_ticket_a}
    assert set(tasks_visible_to(user=cast.agent_b)) == {in_b, b_for_team, b_of_ticket_a}
    for client in (cast.alice, cast.bob):
        assert not tasks_visible_to(user=client).exists()
        with pytest.raises(NotVisible):
            task_get_for(user=client, number=in_a.number)
    with pytest.raises(NotVisible):
        task_get_for(user=cast.agent_b, number=in_a.number)
    services.task_delete(actor=cast.admin, task=in_b)
    assert in_b not in set(tasks_visible_to(user=cast.agent_b))
    assert in_b in set(tasks_visible_to(user=cast.admin))


def test_seeing_a_task_only_through_its_ticket_gives_no_role_in_its_department(cast, ticket):
    task = new_task(cast.admin, ticket=ticket, department=cast.dept_b)
    assert task_get_for(user=cast.agent_a, pk=task.pk) == task
    with pytest.raises(PermissionRefused):
        services.task_close(actor=cast.agent_a, task=task)


# --- the lifecycle ------------------------------------------------------------------------


def test_assign_claim_release_and_transfer(cast, ticket, django_capture_on_commit_callbacks):
    task = new_task(cast.admin, ticket=ticket)
    services.task_claim(actor=cast.agent_a, task=task)
    with pytest.raises(Conflict) as exc:
        services.task_claim(actor=cast.manager_a, task=task)
    assert exc.value.code == "already_assigned"
    team = TeamFactory(members=[cast.agent_a])
    task = services.task_assign(actor=cast.admin, task=task, team=team)
    assert (task.assignee, task.team) == (cast.agent_a, team)
    task = services.task_release(actor=cast.admin, task=task, team=False)
    assert (task.assignee, task.team) == (None, team)
    cast.dept_b.assign_members_only = True
    cast.dept_b.save()
    task = services.task_assign(actor=cast.admin, task=task, agent=cast.agent_a)
    transferred = []
    signals.task_transferred.connect(
        lambda **kw: transferred.append(kw), weak=False, dispatch_uid="t"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            task = services.task_transfer(actor=cast.admin, task=task, department=cast.dept_b)
    finally:
        signals.task_transferred.disconnect(dispatch_uid="t")
    # agent_a is not a member of Billing, which assigns only to its own
    assert task.department == cast.dept_b and task.assignee is None
    event = ThreadEvent.objects.filter(thread_id=task.thread_id, kind="transferred").get()
    assert event.data["released_agent"]["id"] == cast.agent_a.pk
    assert transferred[0]["previous_department"] == cast.dept_a
    with pytest.raises(ValidationFailed) as exc:
        services.task_transfer(actor=cast.admin, task=task, department=cast.dept_b)
    assert exc.value.code == "same_department"
    kinds = list(
        ThreadEvent.objects.filter(thread_id=task.thread_id).values_list("kind", flat=True)
    )
    assert kinds == ["created", "assigned", "assigned", "released", "assigned", "transferred"]


def test_a_stale_edit_is_refused(cast):
    task = new_task(cast.admin, department=cast.dept_a)
    services.task_edit(actor=cast.admin, task=task, title="Newer")
    row = task_row(task)
    with pytest.raises(StaleVersion):
        services.task_edit(
            actor=cast.agent_a, task=task, title="Older", expected_version=task.version
        )
    assert task_row(task) == row
    due = timezone.now() + dt.timedelta(days=2)
    edited = services.task_edit(
        actor=cast.agent_a, task=task, due_at=due, expected_version=row["version"]
    )
    assert edited.due_at == due and edited.version == row["version"] + 1


def test_updates_are_internal_and_respect_the_lock(cast, ticket):
    task = new_task(cast.admin, ticket=ticket)
    services.task_lock_acquire(actor=cast.agent_a, task=task)
    assert Lock.objects.get(thread_id=task.thread_id).agent == cast.agent_a
    before = rows()
    with pytest.raises(Conflict) as exc:
        services.task_post_update(actor=cast.admin, task=task, body="Me first")
    assert exc.value.code == "task_locked"
    assert rows() == before
    entry = services.task_post_update(actor=cast.agent_a, task=task, body="Part ordered.")
    assert entry.kind == "note" and entry.thread_id == task.thread_id
    assert not Lock.objects.exists()  # posting dropped the poster's lock
    # nothing reaches the ticket's thread but the lines about the task
    assert not ThreadEntry.objects.filter(thread_id=ticket.thread_id, kind="note").exists()


def test_close_reopen_and_delete(cast, ticket):
    task = new_task(cast.admin, ticket=ticket, due_at=timezone.now() + dt.timedelta(days=1))
    task = services.task_close(actor=cast.agent_a, task=task)
    assert task.state == TaskState.CLOSED and task.closed_at is not None
    with pytest.raises(Conflict):
        services.task_close(actor=cast.agent_a, task=task)
    task = services.task_reopen(actor=cast.agent_a, task=task)
    assert task.state == TaskState.OPEN and task.closed_at is None
    task = services.task_delete(actor=cast.admin, task=task)
    assert task.state == TaskState.DELETED
    lines = ThreadEvent.objects.filter(thread_id=ticket.thread_id, kind__startswith="task_")
    assert list(lines.values_list("kind", flat=True)) == [
        "task_created",
        "task_closed",
        "task_reopened",
        "task_deleted",
    ]


def test_a_task_of_a_closed_ticket_stays_closed(cast, ticket):
    task = services.task_close(actor=cast.admin, task=new_task(cast.admin, ticket=ticket))
    services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status("Closed"))
    row = task_row(task)
    with pytest.raises(Conflict) as exc:
        services.task_reopen(actor=cast.admin, task=task)
    assert exc.value.code == "ticket_closed"
    assert task_row(task) == row


# --- the close guards -------------------------------------------------------------------


def test_open_tasks_stop_a_ticket_closing_and_are_named(cast, ticket):
    first = new_task(cast.admin, ticket=ticket, title="Order the part")
    new_task(cast.admin, ticket=ticket, title="Call back")
    ticket = Ticket.objects.get(pk=ticket.pk)
    row = Ticket.objects.filter(pk=ticket.pk).values().get()
    with pytest.raises(Conflict) as exc:
        services.ticket_set_status(actor=cast.agent_a, ticket=ticket, status=status("Closed"))
    assert exc.value.code == "open_tasks"
    assert f"#{first.number} (Order the part)" in exc.value.message
    assert [t["title"] for t in exc.value.extra["tasks"]] == ["Order the part", "Call back"]
    assert Ticket.objects.filter(pk=ticket.pk).values().get() == row
    # a reply that would close is refused whole: no response is written
    entries = ThreadEntry.objects.count()
    with pytest.raises(Conflict):
        services.ticket_post_reply(
            actor=cast.agent_a, ticket=ticket, body="Done", status=status("Closed")
        )
    assert ThreadEntry.objects.count() == entries
    # a client closing their own ticket meets the same guard
    with pytest.raises(Conflict):
        services.ticket_client_close(actor=cast.alice, ticket=ticket)


def test_closing_with_its_tasks_needs_task_close_on_each(cast, ticket):
    tasks = [new_task(cast.admin, ticket=ticket) for _ in range(2)]
    ticket = Ticket.objects.get(pk=ticket.pk)
    # Limited Access given ticket.close still lacks task.close
    closer = AgentFactory(department=cast.dept_a, role=role("Expanded Access"))
    limited = AgentFactory(department=cast.dept_a, role=role("Limited Access"))
    Role.objects.filter(name="Limited Access").update(
        permissions=[*role("Limited Access").permissions, "ticket.close"]
    )
    limited.refresh_from_db()
    before = rows()
    with pytest.raises(PermissionRefused):
        services.ticket_set_status(
            actor=limited, ticket=ticket, status=status("Closed"), close_tasks_too=True
        )
    assert rows() == before
    assert Ticket.objects.get(pk=ticket.pk).state == State.OPEN
    closed = services.ticket_set_status(
        actor=closer, ticket=ticket, status=status("Closed"), close_tasks_too=True
    )
    assert closed.state == State.CLOSED
    assert {t.state for t in Task.objects.filter(pk__in=[t.pk for t in tasks])} == {"closed"}
    # one version step for the whole close, the tasks' lines included
    assert closed.version == ticket.version + 1
    assert ThreadEvent.objects.filter(thread_id=ticket.thread_id, kind="task_closed").count() == 2


def test_fields_required_to_close_and_topic_required(cast):
    topic = TopicFactory(department=cast.dept_a)
    form = CustomForm.objects.create(name="Repair")
    form.topics.add(topic)
    CustomField.objects.create(form=form, name="serial", label="Serial", required_to_close=True)
    ticket = open_ticket(cast.alice, actor=cast.admin, topic=topic)
    with pytest.raises(Conflict) as exc:
        services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status("Closed"))
    assert exc.value.code == "fields_required_to_close"
    assert exc.value.fields == {"serial": ["Required to close."]}
    services.ticket_edit(actor=cast.admin, ticket=ticket, custom_fields={"serial": "SN-1"})
    closed = services.ticket_set_status(actor=cast.admin, ticket=ticket, status=status("Closed"))
    assert closed.state == State.CLOSED

    HelpdeskSettings.objects.filter(pk=1).update(require_topic_to_close=True)
    bare = open_ticket(cast.alice, department=cast.dept_a)
    with pytest.raises(Conflict) as exc:
        services.ticket_set_status(actor=cast.admin, ticket=bare, status=status("Closed"))
    assert exc.value.code == "topic_required_to_close"


def test_the_system_and_merges_follow_the_guard_as_osTicket(cast, ticket):
    new_task(cast.admin, ticket=ticket)
    ticket = Ticket.objects.get(pk=ticket.pk)
    with pytest.raises(Conflict):
        services.ticket_set_status(actor=SYSTEM, ticket=ticket, status=status("Closed"))
    parent = open_ticket(cast.alice, department=cast.dept_a, subject="Parent")
    services.ticket_merge(actor=cast.admin, ticket=parent, sources=[ticket], mode="combine")
    child = Ticket.objects.get(pk=ticket.pk)
    assert child.state == State.CLOSED  # a merge's children close regardless
    assert child.tasks.get().state == TaskState.OPEN


def test_purging_a_ticket_takes_its_tasks_and_their_threads(cast, ticket):
    from threads.models import Thread

    task = new_task(cast.admin, ticket=ticket)
    services.ticket_delete(actor=cast.admin, ticket=ticket)
    assert services.tickets_purge(actor=cast.admin, tickets=[ticket]) == 1
    assert not Task.objects.filter(pk=task.pk).exists()
    assert not Thread.objects.filter(pk__in=[ticket.thread_id, task.thread_id]).exists()


def test_the_tasks_assigned_to_an_agent_are_among_those_they_see(cast, ticket):
    from tickets.selectors import tasks_assigned_to

    in_b = new_task(cast.admin, department=cast.dept_b, assignee=cast.agent_b)
    of_ticket = new_task(cast.admin, ticket=ticket, assignee=cast.agent_a)
    new_task(cast.admin, department=cast.dept_a)  # nobody's
    closed = services.task_close(
        actor=cast.admin, task=new_task(cast.admin, department=cast.dept_b, assignee=cast.agent_a)
    )
    for agent, expected in ((cast.agent_a, {of_ticket}), (cast.agent_b, {in_b})):
        assigned = set(tasks_assigned_to(user=agent))
        assert assigned == expected
        assert assigned <= set(tasks_visible_to(user=agent).filter(state="open"))
    assert closed not in set(tasks_assigned_to(user=cast.agent_a))
