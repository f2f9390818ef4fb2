import pytest

from accounts.actors import SYSTEM
from accounts.errors import ValidationFailed
from routing.models import FilterAction, FilterRule, TicketFilter
from tickets import services
from tickets.customfields import fields_for_topic, ticket_field_values
from tickets.models import CustomField, CustomForm, Ticket

from ..factories import TopicFactory, open_ticket, priority


@pytest.fixture
def topics(cast):
    parent = TopicFactory(name="Hardware", department=cast.dept_a)
    child = TopicFactory(name="Laptops", parent=parent, department=cast.dept_a)
    base = CustomForm.objects.create(name="Asset", sort=1)
    base.topics.add(parent)
    extra = CustomForm.objects.create(name="Laptop", sort=2)
    extra.topics.add(child)
    CustomField.objects.create(
        form=base, name="asset_tag", label="Asset tag", required=True, sort=1
    )
    CustomField.objects.create(
        form=base, name="internal", label="Internal note", client_visible=False, sort=2
    )
    CustomField.objects.create(
        form=extra, name="model", label="Model", kind="choice", choices="X1\nT14", sort=1
    )
    CustomField.objects.create(form=extra, name="bought", label="Bought on", kind="date", sort=2)
    CustomField.objects.create(
        form=extra, name="warranty", label="Warranty", kind="checkbox", sort=3
    )
    CustomField.objects.create(form=extra, name="callback", label="Call me", kind="phone", sort=4)
    CustomField.objects.create(form=extra, name="manager", label="Manager", kind="email", sort=5)
    return parent, child


def test_a_topic_asks_for_its_own_and_its_parents_fields(topics):
    parent, child = topics
    assert [f.name for f in fields_for_topic(parent)] == ["asset_tag", "internal"]
    assert [f.name for f in fields_for_topic(child)] == [
        "asset_tag",
        "internal",
        "model",
        "bought",
        "warranty",
        "callback",
        "manager",
    ]
    assert "internal" not in [f.name for f in fields_for_topic(child, for_client=True)]
    assert fields_for_topic(None) == []


def test_values_are_checked_and_stored(cast, topics):
    _, child = topics
    ticket = open_ticket(
        cast.alice,
        topic=child,
        custom_fields={
            "asset_tag": " A-100 ",
            "model": "T14",
            "bought": "2026-01-31",
            "warranty": "on",
            "callback": "+44 20 7946 0000",
            "manager": "boss@acme.test",
            "unknown": "ignored",
        },
    )
    values = {f.name: v for f, v in ticket_field_values(ticket)}
    assert values == {
        "asset_tag": "A-100",
        "model": "T14",
        "bought": "2026-01-31",
        "warranty": "yes",
        "callback": "+44 20 7946 0000",
        "manager": "boss@acme.test",
    }


def test_bad_values_are_refused_field_by_field_and_nothing_is_written(
    cast, topics, nothing_written
):
    _, child = topics
    with nothing_written(), pytest.raises(ValidationFailed) as exc:
        open_ticket(
            cast.alice,
            topic=child,
            custom_fields={
                "model": "Mac",
                "bought": "31/01/2026",
                "callback": "call me",
                "manager": "nope",
            },
        )
    assert exc.value.fields == {
        "asset_tag": ["This field is required."],
        "model": ["Choose one of: X1, T14."],
        "bought": ["Enter a date as YYYY-MM-DD."],
        "callback": ["Enter a phone number."],
        "manager": ["Enter a valid email address."],
    }
    assert Ticket.objects.count() == 0


def test_clients_cannot_fill_agent_only_fields_and_email_skips_the_form(cast, topics):
    parent, _ = topics
    ticket = open_ticket(
        cast.alice, topic=parent, custom_fields={"asset_tag": "A", "internal": "sneaky"}
    )
    assert {f.name for f, _ in ticket_field_values(ticket)} == {"asset_tag"}
    by_mail = services.ticket_open(
        actor=SYSTEM,
        new=services.NewTicket(requester=cast.alice, subject="x", body="y", topic=parent),
    )
    assert ticket_field_values(by_mail) == []


def test_agents_edit_field_values_and_the_change_is_recorded(cast, topics, nothing_written):
    parent, _ = topics
    ticket = open_ticket(cast.alice, topic=parent, custom_fields={"asset_tag": "A-1"})
    t = services.ticket_edit(
        actor=cast.agent_a, ticket=ticket, custom_fields={"asset_tag": "A-2", "internal": "VIP"}
    )
    assert {f.name: v for f, v in ticket_field_values(t)} == {"asset_tag": "A-2", "internal": "VIP"}
    assert t.thread.events.get(kind="edited").data["changes"] == {
        "field.asset_tag": ["A-1", "A-2"],
        "field.internal": ["", "VIP"],
    }
    with nothing_written(), pytest.raises(ValidationFailed) as refusal:
        services.ticket_edit(actor=cast.agent_a, ticket=t, custom_fields={"asset_tag": ""})
    assert refusal.value.code == "invalid_fields"
    assert ticket_field_values(t, for_client=True)[0][1] == "A-2"


def test_filters_see_custom_fields(cast, topics):
    parent, _ = topics
    flt = TicketFilter.objects.create(name="VIP assets")
    FilterRule.objects.create(
        filter=flt, field="custom", name="asset_tag", operator="starts", value="vip"
    )
    FilterAction.objects.create(filter=flt, kind="priority", priority=priority("High"))
    ticket = open_ticket(cast.alice, topic=parent, custom_fields={"asset_tag": "VIP-7"})
    assert ticket.priority.name == "High"


def test_a_guest_through_the_portal_is_not_asked_for_agent_only_fields(
    cast, topics, nothing_written
):
    parent, _ = topics
    CustomField.objects.filter(name="internal").update(required=True)
    ticket = services.ticket_open(
        actor=SYSTEM,
        new=services.NewTicket(
            requester=cast.stranger,
            subject="x",
            body="y",
            topic=parent,
            channel="portal",
            custom_fields={"asset_tag": "A-9", "internal": "sneaky"},
        ),
    )
    assert {f.name: v for f, v in ticket_field_values(ticket)} == {"asset_tag": "A-9"}
    with (
        nothing_written(),
        pytest.raises(ValidationFailed) as exc,
    ):  # through the API the field is required
        services.ticket_open(
            actor=SYSTEM,
            new=services.NewTicket(
                requester=cast.stranger,
                subject="x",
                body="y",
                topic=parent,
                channel="api",
                custom_fields={"asset_tag": "A-9"},
            ),
        )
    assert exc.value.fields == {"internal": ["This field is required."]}
