"""Ticket filters: every operator, every action, and how filters combine."""

import time

import pytest
from django.core.exceptions import ValidationError

from accounts.actors import SYSTEM
from accounts.errors import PermissionRefused
from helpdesk.kb.services import canned_create
from helpdesk.kb.tasks import post_canned_reply_task
from routing.filters import Sample, explain, matching, rule_matches
from routing.models import FilterAction, FilterRule, TicketFilter
from tickets import services
from tickets.models import Ticket
from tickets.signals import ticket_created

from ..factories import (
    AgentFactory,
    ClientFactory,
    OrganizationFactory,
    SLAFactory,
    TeamFactory,
    TopicFactory,
    priority,
    status,
)

SAMPLE = Sample(
    source="email",
    email="Jane.Doe@Example.com",
    name="Jane Doe",
    subject="URGENT: server down",
    body="The main server is down since 9am.",
    reply_to="ops@example.com",
    reply_to_name="Ops Team",
    headers={"x-mailer": "Outlook 16", "list-id": "<ops.example.com>"},
    topic="Technical support / Network",
    organization="Acme",
    fields={"contract": "GOLD-42"},
)


def rule(field, operator, value, name=""):
    return FilterRule(field=field, operator=operator, value=value, name=name)


OPERATOR_CASES = [
    # field, operator, value, expected
    ("email", "equal", "jane.doe@example.com", True),
    ("email", "equal", "jane@example.com", False),
    ("email", "not_equal", "jane@example.com", True),
    ("email", "not_equal", "JANE.DOE@example.com", False),
    ("subject", "contains", "server", True),
    ("subject", "contains", "printer", False),
    ("subject", "not_contains", "printer", True),
    ("subject", "not_contains", "SERVER", False),
    ("subject", "starts", "urgent", True),
    ("subject", "starts", "server", False),
    ("email", "ends", "@example.com", True),
    ("email", "ends", "@example.org", False),
    ("body", "match", r"since \d+am", True),
    ("body", "match", r"^server", False),
    ("body", "not_match", r"printer|fax", True),
    ("body", "not_match", r"\bdown\b", False),
    ("name", "equal", "jane doe", True),
    ("reply_to", "equal", "ops@example.com", True),
    ("reply_to_name", "contains", "ops", True),
    ("topic", "starts", "technical support", True),
    ("organization", "equal", "acme", True),
    ("organization", "equal", "globex", False),
]


@pytest.mark.parametrize(("field", "operator", "value", "expected"), OPERATOR_CASES)
def test_every_operator_on_every_field(field, operator, value, expected):
    assert rule_matches(rule(field, operator, value), SAMPLE) is expected


def test_regex_is_case_sensitive_and_the_rest_is_not():
    assert rule_matches(rule("subject", "match", "urgent"), SAMPLE) is False
    assert rule_matches(rule("subject", "match", "(?i)urgent"), SAMPLE) is True
    assert rule_matches(rule("subject", "contains", "urgent"), SAMPLE) is True


def test_headers_and_custom_fields_by_name():
    assert rule_matches(rule("header", "contains", "outlook", name="X-Mailer"), SAMPLE)
    assert rule_matches(rule("header", "equal", "", name="X-Missing"), SAMPLE)
    assert rule_matches(rule("custom", "starts", "gold", name="contract"), SAMPLE)
    assert not rule_matches(rule("custom", "starts", "gold", name="other"), SAMPLE)


def test_a_pathological_regex_cannot_hang_the_import():
    evil = rule("body", "match", r"(a+)+$")
    sample = Sample(source="email", body="a" * 40 + "!")
    started = time.monotonic()
    assert rule_matches(evil, sample) is False
    assert time.monotonic() - started < 2


def test_an_invalid_regex_is_refused_when_saved(db, nothing_written):
    flt = TicketFilter.objects.create(name="Bad")
    bad = FilterRule(filter=flt, field="subject", operator="match", value="([unclosed")
    with nothing_written(), pytest.raises(ValidationError) as exc:
        bad.full_clean()
    assert exc.value.message_dict == {
        "value": ["Invalid regular expression: unterminated character set at position 10"]
    }
    FilterRule(filter=flt, field="subject", operator="contains", value="([unclosed").full_clean()


def test_header_rules_need_a_name_and_actions_their_target(db):
    flt = TicketFilter.objects.create(name="F")
    with pytest.raises(ValidationError) as no_header:
        FilterRule(filter=flt, field="header", operator="equal", value="x").full_clean()
    assert no_header.value.message_dict == {"name": ["Name the header or custom field."]}
    with pytest.raises(ValidationError) as no_department:
        FilterAction(filter=flt, kind="department").full_clean()
    assert no_department.value.message_dict == {"department": ["This action needs a department."]}
    with pytest.raises(ValidationError) as no_address:
        FilterAction(filter=flt, kind="collaborators", value="nobody").full_clean()
    assert no_address.value.message_dict == {
        "value": ["List the collaborators' addresses, separated by commas."]
    }


def make_filter(name="F", *, rules=(), actions=(), **kw):
    flt = TicketFilter.objects.create(name=name, **kw)
    for field, operator, value, *rest in rules:
        FilterRule.objects.create(
            filter=flt, field=field, operator=operator, value=value, name=rest[0] if rest else ""
        )
    for kind, attrs in actions:
        FilterAction.objects.create(filter=flt, kind=kind, **attrs)
    return flt


def open_by_mail(cast, requester, subject="server down", **kw):
    return services.ticket_open(
        actor=SYSTEM,
        new=services.NewTicket(
            requester=requester,
            subject=subject,
            body="help",
            source="email",
            department=cast.dept_a,
            channel="email",
            **kw,
        ),
    )


def test_every_action_applies_to_the_new_ticket(cast, django_capture_on_commit_callbacks):
    sla, team, topic, org = (
        SLAFactory(),
        TeamFactory(),
        TopicFactory(department=cast.dept_b),
        OrganizationFactory(),
    )
    make_filter(
        "Everything",
        rules=[("subject", "contains", "server")],
        actions=[
            ("department", {"department": cast.dept_b}),
            ("priority", {"priority": priority("Emergency")}),
            ("sla", {"sla": sla}),
            ("status", {"status": status("Awaiting customer")}),
            ("topic", {"topic": topic}),
            ("agent", {"agent": cast.agent_b}),
            ("team", {"team": team}),
            ("no_autoresponse", {}),
            ("collaborators", {"value": "boss@example.org, cast@example.org"}),
            ("organization", {"organization": org}),
        ],
    )
    received = []
    ticket_created.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t-filter")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ticket = open_by_mail(cast, cast.alice)
    finally:
        ticket_created.disconnect(dispatch_uid="t-filter")

    assert ticket.department == cast.dept_b and ticket.priority.name == "Emergency"
    assert (ticket.sla, ticket.status.name, ticket.topic, ticket.assignee, ticket.team) == (
        sla,
        "Awaiting customer",
        topic,
        cast.agent_b,
        team,
    )
    assert ticket.organization == org and ticket.sla_paused_at is not None
    emails = set(ticket.thread.collaborators.values_list("user__email", flat=True))
    assert emails == {"boss@example.org", "cast@example.org"}
    assert received[0]["autorespond"] is False
    event = ticket.thread.events.get(kind="filter_matched")
    assert (
        event.data["filters"][0]["name"] == "Everything"
        and len(event.data["filters"][0]["actions"]) == 10
    )


def test_reject_refuses_the_ticket_with_its_reason(cast, nothing_written):
    make_filter(
        "No spam",
        rules=[("subject", "contains", "viagra")],
        actions=[("reject", {"value": "Spam is not welcome."})],
    )
    with nothing_written(), pytest.raises(PermissionRefused) as exc:
        open_by_mail(cast, cast.alice, subject="cheap VIAGRA")
    assert (exc.value.code, str(exc.value)) == ("rejected", "Spam is not welcome.")
    assert Ticket.objects.count() == 0
    # an agent opening the same ticket is not rejected; the event says so
    ticket = services.ticket_open(
        actor=cast.agent_a,
        new=services.NewTicket(
            requester=cast.alice, subject="cheap viagra", body="x", department=cast.dept_a
        ),
    )
    assert (
        "not applied"
        in ticket.thread.events.get(kind="filter_matched").data["filters"][0]["actions"][0]
    )


def test_match_all_or_any(cast):
    all_rules = make_filter(
        "All",
        rules=[("subject", "contains", "server"), ("email", "ends", "@nowhere.test")],
        actions=[("priority", {"priority": priority("High")})],
    )
    assert open_by_mail(cast, cast.alice).priority.name == "Normal"
    all_rules.match_all = False
    all_rules.save()
    assert open_by_mail(cast, cast.alice).priority.name == "High"


def test_filters_run_in_order_and_stop_on_match(cast):
    make_filter(
        "First",
        sort=1,
        rules=[("subject", "contains", "server")],
        actions=[("priority", {"priority": priority("Low")})],
    )
    second = make_filter(
        "Second",
        sort=2,
        rules=[("subject", "contains", "server")],
        actions=[("priority", {"priority": priority("High")})],
    )
    assert open_by_mail(cast, cast.alice).priority.name == "High"  # the later one wins
    TicketFilter.objects.filter(name="First").update(stop_on_match=True)
    ticket = open_by_mail(cast, cast.alice)
    assert ticket.priority.name == "Low"
    assert [f["name"] for f in ticket.thread.events.get(kind="filter_matched").data["filters"]] == [
        "First"
    ]
    second.is_active = False
    second.save()


def test_a_filter_runs_only_for_its_channel(cast):
    make_filter(
        "Mail only",
        channel="email",
        rules=[("subject", "contains", "server")],
        actions=[("priority", {"priority": priority("High")})],
    )
    assert open_by_mail(cast, cast.alice).priority.name == "High"
    web = services.ticket_open(
        actor=cast.alice,
        new=services.NewTicket(
            requester=cast.alice, subject="server down", body="x", department=cast.dept_a
        ),
    )
    assert web.priority.name == "Normal"
    assert not web.thread.events.filter(kind="filter_matched").exists()


def test_inactive_filters_and_filters_without_rules_never_match(cast):
    make_filter(
        "Off",
        is_active=False,
        rules=[("subject", "contains", "server")],
        actions=[("priority", {"priority": priority("High")})],
    )
    make_filter("Empty", actions=[("priority", {"priority": priority("High")})])
    assert open_by_mail(cast, cast.alice).priority.name == "Normal"


def test_header_rules_use_the_meta_of_the_channel(cast):
    make_filter(
        "Lists",
        rules=[("header", "contains", "ops.example.com", "List-Id")],
        actions=[("team", {"team": TeamFactory(name="Ops")})],
    )
    ticket = open_by_mail(cast, cast.alice, meta={"headers": {"List-Id": "<ops.example.com>"}})
    assert ticket.team.name == "Ops"
    assert open_by_mail(cast, cast.alice).team is None


def test_the_canned_action_answers_the_new_ticket(
    cast, django_capture_on_commit_callbacks, nothing_written
):
    canned = canned_create(
        actor=cast.admin,
        title="Thanks",
        body="<p>Hello %{recipient.name}, we got #%{ticket.number}.</p>",
    )
    make_filter(
        "Auto reply",
        rules=[("subject", "contains", "server")],
        actions=[("canned", {"canned": canned})],
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_by_mail(cast, cast.alice)
    reply = ticket.thread.entries.get(kind="response")
    assert reply.body_html == f"<p>Hello {cast.alice.display_name}, we got #{ticket.number}.</p>"
    ticket.refresh_from_db()
    assert ticket.is_answered
    with nothing_written():
        assert post_canned_reply_task(ticket.pk, canned.pk) is None  # idempotent: not posted twice
    assert ticket.thread.entries.filter(kind="response").count() == 1


def test_the_admin_test_page_explains_a_filter_without_saving(admin_client, cast, nothing_written):
    flt = make_filter(
        "Try me",
        is_active=False,
        rules=[("subject", "contains", "server"), ("email", "ends", ".org")],
        actions=[("priority", {"priority": priority("High")})],
    )
    url = f"/admin/routing/ticketfilter/{flt.pk}/test/"
    with nothing_written():
        page = admin_client.post(
            url, {"source": "email", "email": "a@b.org", "subject": "Server down"}
        )
        html = page.content.decode()
        assert (
            page.status_code == 200
            and "The filter matches." in html
            and "Set priority: High" in html
        )
        page = admin_client.post(
            url, {"source": "email", "email": "a@b.com", "subject": "Server down"}
        )
    assert "The filter does not match." in page.content.decode()
    assert Ticket.objects.count() == 0
    assert explain(flt, Sample(source="web", subject="server", email="x@y.org"))["matches"] is True


def test_the_admin_test_page_reads_custom_fields_and_headers(admin_client, cast):
    flt = make_filter(
        "Custom",
        is_active=False,
        rules=[("custom", "equal", "gold", "Plan"), ("header", "contains", "list", "X-Mailer")],
        actions=[("priority", {"priority": priority("High")})],
    )
    url = f"/admin/routing/ticketfilter/{flt.pk}/test/"
    sample = {"source": "email", "headers": "X-Mailer: Mailing list 2.0"}
    page = admin_client.post(url, {**sample, "custom_fields": "Plan: Gold"})
    assert page.status_code == 200 and "The filter matches." in page.content.decode()
    page = admin_client.post(url, {**sample, "custom_fields": "Plan: Silver"})
    assert "The filter does not match." in page.content.decode()


def test_new_clients_named_by_a_filter_are_created_once(cast):
    make_filter(
        "CC boss",
        rules=[("subject", "contains", "server")],
        actions=[("collaborators", {"value": "boss@example.org"})],
    )
    open_by_mail(cast, cast.alice)
    open_by_mail(cast, cast.bob)
    assert type(cast.alice).objects.filter(email="boss@example.org").count() == 1
    assert (
        ClientFactory._meta.model.objects.get(email="boss@example.org").collaborations.count() == 2
    )


def test_filter_evaluation_query_count_is_constant(cast, django_assert_max_num_queries):
    for i in range(5):
        make_filter(
            f"F{i}",
            rules=[("subject", "contains", f"nope{i}"), ("email", "equal", "x")],
            actions=[("priority", {"priority": priority("High")})],
        )
    with django_assert_max_num_queries(3):
        assert matching(SAMPLE) == []


def test_agents_may_be_targets_of_assignment_actions(cast):
    agent = AgentFactory(department=cast.dept_a)
    make_filter(
        "To Pat", rules=[("email", "ends", "acme.test")], actions=[("agent", {"agent": agent})]
    )
    assert open_by_mail(cast, cast.alice).assignee == agent
