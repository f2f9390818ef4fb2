"""tickets.config: what it may keep is declared on the models, and what it keeps is frozen.

- every model whose rows the snapshot holds (found by walking what it cached after
  exercising every lookup) is declared @cached_rows, and each declared model's writes
  change the version;
- the cache refuses a row of an undeclared model (a user);
- a kept row cannot query: a relation or deferred field not loaded raises FrozenRow;
- `defaults()` answers a declared type.
"""

import copy
import dataclasses

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.test.utils import CaptureQueriesContext

from accounts import watched
from accounts.actors import SYSTEM
from accounts.models import Organization
from helpdesk.webhooks.models import Subscription
from routing.filters import SOURCE_CHANNEL
from routing.models import (
    SLA,
    BannedEmail,
    Department,
    FilterAction,
    FilterRule,
    HelpTopic,
    TicketFilter,
)
from routing.services import SystemDefaults
from tickets import config, services
from tickets.config import CACHE, CacheRefused, FrozenRow, Snapshot, rows_in
from tickets.models import HelpdeskSettings, Priority, Ticket, TicketStatus
from tickets.selectors import ticket_get_for
from tickets.services._common import SnapshotDefaults, defaults

from ..factories import SLAFactory, TopicFactory, priority, status


@pytest.fixture
def configured(cast):
    """Every kind of configuration row the snapshot can hold, in use."""
    sla = SLAFactory(name="Gold", escalate_priority=priority("High"))
    cast.dept_a.sla = sla
    cast.dept_a.save()
    topic = TopicFactory(name="Printers", department=cast.dept_a, sla=sla, priority=priority("Low"))
    topic.status = status("Open")
    topic.save()
    HelpdeskSettings.objects.filter(pk=1).update(
        default_department=cast.dept_a,
        default_sla=sla,
        default_topic=topic,
        default_priority=priority("Normal"),
        default_status=status("Open"),
    )
    flt = TicketFilter.objects.create(name="Toner")
    FilterRule.objects.create(filter=flt, field="subject", operator="contains", value="toner")
    FilterAction.objects.create(filter=flt, kind="priority", priority=priority("High"))
    BannedEmail.objects.create(address="@spam.test")
    Subscription.objects.create(name="CRM", url="https://crm.example.com/h", events=["*"])
    cast.topic = topic
    return cast


def exercise_every_lookup(cast) -> None:
    """Open tickets from every source and call every lookup of the snapshot."""
    for source in SOURCE_CHANNEL:
        ticket = services.ticket_open(
            actor=SYSTEM,
            new=services.NewTicket(
                requester=cast.alice,
                subject="Out of toner",
                body="Again.",
                source=source,
                channel="api",
                topic=cast.topic,
            ),
        )
    ticket_get_for(user=cast.admin, number=ticket.number)
    snapshot = Snapshot(HelpdeskSettings.load())
    config_row = snapshot.config
    lookups = {
        "sla": config_row.default_sla_id,
        "department": config_row.default_department_id,
        "priority": config_row.default_priority_id,
        "status": config_row.default_status_id,
        "topic": config_row.default_topic_id,
    }
    for name, pk in lookups.items():
        assert getattr(snapshot, name)(pk) is not None
    for source in SOURCE_CHANNEL:
        snapshot.filters(source)
    snapshot.banned("someone@spam.test")


def test_every_model_whose_rows_the_snapshot_holds_is_declared(configured):
    exercise_every_lookup(configured)

    held = {type(row) for value in CACHE._values.values() for row in rows_in(value)}

    # what the walk found is what the snapshot serves (the walk looks everywhere)
    assert held >= {SLA, Department, HelpTopic, Priority, TicketStatus, TicketFilter}
    assert held >= {FilterRule, FilterAction, Subscription}
    undeclared = {m._meta.label for m in held if not watched.is_cached_model(m)}
    assert undeclared == set()


def test_every_declared_model_changes_the_version_on_any_write():
    declared = watched.cached_models()
    assert {SLA, Department, HelpTopic, Priority, TicketStatus, BannedEmail} <= set(declared)
    assert {TicketFilter, FilterRule, FilterAction, Subscription} <= set(declared)
    try:
        for model in declared:
            uid = f"tickets.config.{model._meta.label}"
            assert post_save.disconnect(sender=model, dispatch_uid=f"{uid}.save"), model
            assert post_delete.disconnect(sender=model, dispatch_uid=f"{uid}.delete"), model
            assert watched.rows_changed.disconnect(sender=model, dispatch_uid=f"{uid}.bulk")
            assert issubclass(model._base_manager._queryset_class, watched.WatchedQuerySet)
    finally:
        config.watch_cached_models()


def test_a_declared_model_without_a_watched_queryset_stops_the_start(monkeypatch):
    monkeypatch.setattr(watched, "_cached", [*watched.cached_models(), Organization])
    with pytest.raises(ImproperlyConfigured, match=r"accounts\.Organization"):
        config.watch_cached_models()


def test_the_cache_refuses_a_row_of_an_undeclared_model(configured):
    snapshot = Snapshot(HelpdeskSettings.load())
    with pytest.raises(CacheRefused, match=r"accounts\.User"):
        snapshot.cached("people", lambda: [configured.agent_a])
    managed = Department.objects.select_related("manager").filter(pk=configured.dept_a.pk)
    with pytest.raises(CacheRefused, match=r"accounts\.User"):  # loaded onto a declared row
        snapshot.cached("dept", lambda: managed.get())
    with pytest.raises(CacheRefused, match="unevaluated"):
        snapshot.cached("lazy", lambda: Department.objects.all())
    assert set(CACHE._values) == set()  # nothing was kept


def kept(key):
    return CACHE._values[key]


def test_a_kept_row_refuses_to_load_what_it_lacks(configured):
    exercise_every_lookup(configured)
    department = kept((Department._meta.label, configured.dept_a.pk))
    subscription = kept("webhooks.active")[0]
    toner = next(f for f in kept(("filters", "api")) if f.name == "Toner")

    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(FrozenRow, match=r"routing\.Department"):
            _ = department.manager  # a foreign key not loaded
        with pytest.raises(FrozenRow, match=r"helpdesk_webhooks\.Subscription"):
            _ = subscription.url  # a deferred field
        with pytest.raises(FrozenRow):
            department.tickets.count()  # a reverse relation
        with pytest.raises(FrozenRow):
            _ = toner.actions.all()[0].priority  # a target: loads on a copy only
        with pytest.raises(FrozenRow, match="saved or deleted"):
            department.save()
        # what it holds is served without a query
        assert [r.value for r in toner.rules.all()] == ["toner"]
        assert subscription.wants("ticket.created")
    assert queries.captured_queries == []

    # a copy is an ordinary instance: it loads, and the kept row stays as it was
    handed_out = copy.copy(department)
    assert handed_out.manager == configured.manager_a
    assert "manager" not in department._state.fields_cache
    assert copy.copy(toner.actions.all()[0]).priority.name == "High"


def test_snapshot_lookups_hand_out_rows_that_load_normally(configured):
    exercise_every_lookup(configured)
    snapshot = Snapshot(HelpdeskSettings.load())
    department = snapshot.department(configured.dept_a.pk)
    assert department.manager == configured.manager_a
    assert Ticket.objects.filter(department=department).count() == len(SOURCE_CHANNEL)


def test_defaults_answer_a_declared_type(configured):
    config_row = HelpdeskSettings.load()
    answer = defaults(config_row)
    assert type(answer) is SnapshotDefaults and dataclasses.is_dataclass(answer)
    assert isinstance(answer, SystemDefaults)
    assert answer.department == configured.dept_a
    assert answer.topic == configured.topic and answer.topic.department == configured.dept_a
    assert (answer.priority.name, answer.status.name, answer.sla.name) == ("Normal", "Open", "Gold")
    with pytest.raises(dataclasses.FrozenInstanceError):
        answer.config = None
