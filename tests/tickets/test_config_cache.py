"""tickets.config: configuration read once per process, dropped when it changes.

Every change of a watched model (save, delete, queryset update, bulk create) gives the
settings row a new version in the same transaction; a process drops what it cached as
soon as it reads another version, so a change made in another process (simulated here
by writing the rows and the version without signals) is seen by the next ticket.
"""

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from accounts.actors import SYSTEM
from accounts.errors import NotVisible, PermissionRefused, ValidationFailed
from helpdesk.webhooks.models import Delivery, Subscription
from routing.models import BannedEmail, FilterAction, FilterRule, HelpTopic, TicketFilter
from tickets import services
from tickets.config import CACHE, new_version
from tickets.models import HelpdeskSettings, Priority
from tickets.selectors import ticket_get_for

from ..factories import AgentFactory, SLAFactory, TeamFactory, TopicFactory, priority

CACHED_TABLES = (
    "routing_department",
    "tickets_priority",
    "tickets_ticketstatus",
    "routing_bannedemail",
    "routing_ticketfilter",
    "helpdesk_webhooks_subscription",
)


def version() -> int:
    return HelpdeskSettings.objects.get(pk=1).config_version


def open_ticket(cast, requester=None, subject="Printer on fire", **kw):
    return services.ticket_open(
        actor=SYSTEM,
        new=services.NewTicket(
            requester=requester or cast.alice,
            subject=subject,
            body="Since 9am.",
            source="api",
            channel="api",
            **kw,
        ),
    )


@pytest.fixture
def defaults(cast):
    HelpdeskSettings.objects.filter(pk=1).update(default_department=cast.dept_a)
    return cast


def tables_read(queries) -> set[str]:
    return {t for t in CACHED_TABLES for q in queries if f'FROM "{t}"' in q["sql"]}


def test_a_second_ticket_reads_no_configuration_rows(defaults):
    with CaptureQueriesContext(connection) as first:
        open_ticket(defaults)
    assert tables_read(first.captured_queries) == set(CACHED_TABLES)
    with CaptureQueriesContext(connection) as second:
        ticket = open_ticket(defaults)
    assert tables_read(second.captured_queries) == set()
    assert len(second.captured_queries) <= len(first.captured_queries) - len(CACHED_TABLES)
    # the ticket still got the configured defaults
    assert ticket.department == defaults.dept_a
    assert ticket.priority.name == "Normal" and ticket.status.name == "Open"


def test_every_kind_of_write_to_a_watched_model_changes_the_version(defaults):
    seen = [version()]

    def changed():
        seen.append(version())
        return seen[-1] != seen[-2]

    ban = BannedEmail.objects.create(address="spam@example.com")
    assert changed()
    ban.notes = "seen twice"
    ban.save()
    assert changed()
    BannedEmail.objects.filter(pk=ban.pk).update(notes="three times")
    assert changed()
    BannedEmail.objects.bulk_create([BannedEmail(address="@junk.test")])
    assert changed()
    BannedEmail.objects.all().delete()
    assert changed()
    Priority.objects.filter(name="Low").update(colour="#000000")
    assert changed()
    # a write that changes no row, and writes to unwatched models, keep it
    BannedEmail.objects.filter(address="nobody@example.com").update(notes="x")
    open_ticket(defaults)
    assert not changed()


def test_a_ban_applies_to_the_next_ticket_and_its_removal_too(defaults, nothing_written):
    open_ticket(defaults)  # the ban list is now cached, empty
    ban = BannedEmail.objects.create(address="alice@acme.test")
    with nothing_written(), pytest.raises(PermissionRefused) as refused:
        open_ticket(defaults)
    assert refused.value.code == "rejected"
    BannedEmail.objects.filter(pk=ban.pk).update(address="@acme.test")  # the whole domain
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        open_ticket(defaults)
    assert refusal.value.code == "rejected"
    ban.delete()
    assert open_ticket(defaults).pk


def test_a_change_committed_by_another_process_is_seen(defaults, nothing_written):
    """Another process writes the ban and then the new version; this process's signals
    never fire, yet its next ticket sees the ban because the version differs."""
    open_ticket(defaults)
    QuerySet(BannedEmail).bulk_create([BannedEmail(address="alice@acme.test")])  # no signal
    assert open_ticket(defaults).pk  # same version: this process still uses its copy
    QuerySet(HelpdeskSettings).filter(pk=1).update(config_version=new_version())
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        open_ticket(defaults)
    assert refusal.value.code == "rejected"


def test_a_rolled_back_change_leaves_no_stale_configuration(defaults, nothing_written):
    open_ticket(defaults)
    before = version()
    with nothing_written(), pytest.raises(RuntimeError), transaction.atomic():
        BannedEmail.objects.create(address="alice@acme.test")
        with pytest.raises(PermissionRefused) as refusal:  # seen inside its own transaction
            open_ticket(defaults)
        assert refusal.value.code == "rejected"
        raise RuntimeError("roll back")
    assert version() == before
    assert open_ticket(defaults).pk  # the ban never happened


def test_department_and_default_changes_apply_at_once(defaults, nothing_written):
    open_ticket(defaults)
    dept = defaults.dept_a
    dept.is_active = False
    dept.save()
    with nothing_written(), pytest.raises(ValidationFailed) as refused:
        open_ticket(defaults)
    assert refused.value.code == "inactive_department"
    dept.is_active = True
    dept.save()
    Priority.objects.filter(name="Normal").update(name="Standard")
    assert open_ticket(defaults).priority.name == "Standard"


def test_filters_and_their_targets_are_current(defaults):
    agent = AgentFactory(username="filtered", department=defaults.dept_a)
    flt = TicketFilter.objects.create(name="Printers")
    FilterRule.objects.create(filter=flt, field="subject", operator="contains", value="printer")
    FilterAction.objects.create(filter=flt, kind="agent", agent=agent)
    assert open_ticket(defaults).assignee == agent
    # the agent leaves: not a watched model, yet the cached filter must not keep them
    agent.is_active = False
    agent.save()
    assert open_ticket(defaults).assignee is None
    FilterAction.objects.create(filter=flt, kind="priority", priority=priority("High"))
    assert open_ticket(defaults).priority.name == "High"
    FilterRule.objects.filter(filter=flt).update(value="scanner")
    assert open_ticket(defaults).priority.name == "Normal"


def test_cached_rows_are_handed_out_as_copies(defaults):
    first = open_ticket(defaults)
    first.department.name = "Changed in memory only"
    assert first.department.manager == defaults.manager_a  # loads onto this copy only
    second = open_ticket(defaults)
    assert second.department.name == "Support"
    assert second.department is not first.department
    assert "manager" not in second.department._state.fields_cache


def test_a_copied_row_is_what_copy_copy_gives(defaults):
    """config.copied gives what copy.copy gives: the same values, with a _state and a
    relations cache of its own, never the kept (frozen) row."""
    import copy

    from routing.models import Department
    from tickets.config import copied, is_frozen

    row = Department.objects.select_related("manager").get(pk=defaults.dept_a.pk)
    mine, theirs = copied(row), copy.copy(row)
    columns = [f.attname for f in Department._meta.concrete_fields]
    assert [getattr(mine, c) for c in columns] == [getattr(theirs, c) for c in columns]
    assert mine.manager == theirs.manager == defaults.manager_a  # the cache copied too
    assert mine._state is not row._state and not is_frozen(mine)
    assert mine._state.fields_cache is not row._state.fields_cache
    mine.name = "Changed"
    del mine._state.fields_cache["manager"]
    assert row.name == "Support" and "manager" in row._state.fields_cache
    assert mine._state.db == row._state.db and not mine._state.adding


def test_webhook_subscriptions_are_cached_and_watched(defaults):
    open_ticket(defaults)
    sub = Subscription.objects.create(
        name="CRM", url="https://crm.example.com/hook", secret="s" * 32, events=["*"]
    )
    ticket = open_ticket(defaults)
    assert Delivery.objects.filter(subscription=sub, payload__ticket__id=ticket.pk).exists()
    Subscription.objects.filter(pk=sub.pk).update(is_active=False)
    ticket = open_ticket(defaults)
    assert not Delivery.objects.filter(payload__ticket__id=ticket.pk).exists()


def test_the_cache_holds_one_version_at_a_time(defaults):
    open_ticket(defaults)
    assert CACHE._version == version()
    BannedEmail.objects.create(address="x@example.com")
    assert CACHE._values == {}  # this process dropped its copy at once


def test_deleting_a_team_or_agent_a_topic_assigns_to_is_seen(defaults):
    """on_delete=SET_NULL clears the topic's column through the base manager: a watched
    queryset, so the cached default topic does not keep pointing at a deleted row."""
    team = TeamFactory(name="Network")
    agent = AgentFactory(username="solo", department=defaults.dept_a)
    topic = TopicFactory(name="General", department=defaults.dept_a, assign_team=team)
    HelpdeskSettings.objects.filter(pk=1).update(default_topic=topic)
    assert open_ticket(defaults).team == team
    team.delete()
    assert open_ticket(defaults).team is None
    HelpTopic.objects.filter(pk=topic.pk).update(assign_agent=agent)
    assert open_ticket(defaults).assignee == agent
    agent.delete()
    assert open_ticket(defaults).assignee is None


def test_adding_through_a_reverse_relation_is_seen(defaults):
    sla = SLAFactory(name="Fast", grace_hours=1)
    assert open_ticket(defaults).sla is None
    sla.departments.add(defaults.dept_a)  # a bulk UPDATE through the base manager
    assert open_ticket(defaults).sla == sla


def test_saving_an_old_settings_instance_never_brings_an_old_version_back(defaults):
    stale = HelpdeskSettings.objects.get(pk=1)
    seen = {stale.config_version}
    BannedEmail.objects.create(address="x@example.com")
    seen.add(version())
    stale.lock_minutes = 5
    stale.save()
    assert version() not in seen
    saved = version()
    stale.save(update_fields=["lock_minutes"])  # the version is not among the fields
    assert version() == saved


def test_a_migration_gives_a_new_version(defaults):
    before = version()
    open_ticket(defaults)
    call_command("migrate", "tickets", verbosity=0)  # nothing to apply; post_migrate runs
    assert version() != before
    assert CACHE._values == {}


def test_a_visible_ticket_comes_with_its_configuration_from_the_snapshot(defaults, nothing_written):
    opened = open_ticket(defaults)
    ticket_get_for(user=defaults.agent_a, number=opened.number)  # the snapshot is warm
    with CaptureQueriesContext(connection) as queries:
        ticket = ticket_get_for(user=defaults.agent_a, number=opened.number)
        seen = (ticket.department.name, ticket.status.state, ticket.priority.name, ticket.sla)
    assert seen == ("Support", "open", "Normal", None)
    assert tables_read(queries.captured_queries) == set()
    assert all("routing_department" not in q["sql"] for q in queries.captured_queries)
    assert ticket.requester == defaults.alice  # people are joined, never cached
    with nothing_written(), pytest.raises(NotVisible) as refusal:
        ticket_get_for(user=defaults.agent_b, number=opened.number)  # still the selector
    assert refusal.value.code == "ticket_not_found"
