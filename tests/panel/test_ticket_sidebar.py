"""The ticket page's sidebar: every property shown, each edited in place (a small form
loaded by htmx, saved through the ticket services) by who may change it, shown
read-only to who may not; the bigger actions in dialogs; the client's organization and
other tickets beside the thread; a number of queries independent of all of these."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from threads.models import ThreadEvent
from tickets import services
from tickets.models import CustomField, CustomForm, Ticket, TicketFieldValue

from ..factories import (
    AgentFactory,
    SLAFactory,
    TeamFactory,
    TopicFactory,
    attachment,
    open_ticket,
    priority,
    role,
    status,
)
from .conftest import signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def fresh(ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def prop(html: str, name: str) -> str:
    """The sidebar row of one property."""
    return re.split(
        r'<div class="prop(?: wide)?" id=|</section>', html.split(f'id="prop-{name}"')[1]
    )[0]


@pytest.fixture
def details():
    """A help topic with a custom field (the sidebar's "Ticket fields")."""
    topic = TopicFactory(name="Hardware")
    form = CustomForm.objects.create(name="Hardware details")
    form.topics.add(topic)
    CustomField.objects.create(form=form, name="serial", label="Serial number", kind="text")
    return topic


def _changes(cast, details):
    """(property, POST data, check of the saved ticket) for every sidebar property."""
    team, sla = TeamFactory(name="Printers"), SLAFactory(name="Urgent SLA")
    due = (timezone.now() + dt.timedelta(days=3)).replace(second=0, microsecond=0)
    return {
        "status": ({"status": status("Closed").pk}, lambda t: t.status.name == "Closed"),
        "priority": ({"priority": priority("High").pk}, lambda t: t.priority.name == "High"),
        "assignee": ({"agent": cast.manager_a.pk}, lambda t: t.assignee == cast.manager_a),
        "team": ({"team": team.pk}, lambda t: t.team == team),
        "transfer": ({"department": cast.dept_b.pk}, lambda t: t.department == cast.dept_b),
        "topic": ({"topic": details.pk}, lambda t: t.topic == details),
        "sla": ({"sla": sla.pk}, lambda t: t.sla == sla),
        "due": (
            {"due_at": timezone.localtime(due).strftime("%Y-%m-%dT%H:%M")},
            lambda t: t.due_at == due,
        ),
        "answered": ({"answered": "1"}, lambda t: t.is_answered),
        "collaborator": (
            {"email": cast.bob.email, "role": "cc"},
            lambda t: (
                list(t.thread.collaborators.values_list("user__email", flat=True))
                == [cast.bob.email]
            ),
        ),
    }


PROPERTIES = [
    "status",
    "priority",
    "assignee",
    "team",
    "transfer",
    "topic",
    "sla",
    "due",
    "answered",
    "collaborator",
]


@pytest.mark.parametrize("name", PROPERTIES)
def test_an_agent_who_may_changes_each_property_in_place(name, cast, ticket_a, details):
    client = signed_in(cast.admin)
    data, saved = _changes(cast, details)[name]
    # the small form loads into the property's slot
    form = client.get(f"/scp/tickets/{ticket_a.number}/do/{name}/?inline=1", **HTMX)
    assert form.status_code == 200
    html = form.content.decode()
    assert html.startswith("<form") and 'class="inline-prop"' in html
    assert ">Save</button>" in html and "data-prop-cancel" in html
    # saving answers with the refreshed ticket region, through the service (an event)
    events = ThreadEvent.objects.filter(thread_id=ticket_a.thread_id).count()
    response = client.post(
        f"/scp/tickets/{ticket_a.number}/do/{name}/",
        {**data, "version": ticket_a.version},
        **HTMX,
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert response.content.decode().lstrip().startswith('<div id="ticket"')
    assert saved(fresh(ticket_a))
    assert ThreadEvent.objects.filter(thread_id=ticket_a.thread_id).count() > events


def test_the_sidebar_shows_the_new_value_after_an_edit(as_agent_a, ticket_a):
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/do/priority/",
        {"priority": priority("Emergency").pk, "version": ticket_a.version},
        **HTMX,
    )
    assert "Emergency" in prop(response.content.decode(), "priority")


def test_custom_field_values_are_edited_in_the_sidebar(as_agent_a, cast, details):
    ticket = open_ticket(cast.alice, department=cast.dept_a, topic=details)
    page = as_agent_a.get(f"/scp/tickets/{ticket.number}/").content.decode()
    assert f"/scp/tickets/{ticket.number}/do/fields/" in prop(page, "fields")
    form = as_agent_a.get(f"/scp/tickets/{ticket.number}/do/fields/?inline=1", **HTMX)
    assert 'name="cf_serial"' in form.content.decode()
    response = as_agent_a.post(
        f"/scp/tickets/{ticket.number}/do/fields/",
        {"cf_serial": "SN-4411", "version": ticket.version},
        **HTMX,
    )
    assert response.status_code == 200
    assert TicketFieldValue.objects.get(ticket=ticket, field__name="serial").value == "SN-4411"
    assert "SN-4411" in prop(response.content.decode(), "fields")


def test_a_view_only_agent_sees_every_property_and_may_change_none(cast, ticket_a, details):
    viewer = AgentFactory(username="viewer", department=cast.dept_a, role=role("View only"))
    services.ticket_assign(actor=cast.admin, ticket=ticket_a, agent=cast.agent_a)
    page = signed_in(viewer).get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert cast.agent_a.display_name in prop(page, "assignee")
    assert "Support" in prop(page, "department")
    assert "Normal" in prop(page, "priority")
    for name in ("status", "priority", "assignee", "team", "topic", "sla", "due", "answered"):
        assert "/do/" not in prop(page, name), name
        assert 'class="prop-edit"' not in prop(page, name), name
    assert "data-dialog" not in page


@pytest.mark.parametrize("name", PROPERTIES)
def test_a_property_change_without_the_permission_is_refused_and_writes_nothing(
    name, cast, ticket_a, details, nothing_written
):
    viewer = AgentFactory(username="viewer", department=cast.dept_a, role=role("View only"))
    data, _saved = _changes(cast, details)[name]
    client = signed_in(viewer)
    with nothing_written():
        response = client.post(
            f"/scp/tickets/{ticket_a.number}/do/{name}/",
            {**data, "version": ticket_a.version},
            **HTMX,
        )
    assert response.status_code == 403
    assert "does not allow" in response.content.decode()


def test_an_agent_who_may_not_see_the_ticket_gets_404_for_its_property_forms(
    as_agent_b, ticket_a, nothing_written
):
    with nothing_written():
        for name in [*PROPERTIES, "fields"]:
            url = f"/scp/tickets/{ticket_a.number}/do/{name}/"
            assert as_agent_b.get(url + "?inline=1", **HTMX).status_code == 404, name
            assert as_agent_b.post(url, {"version": ticket_a.version}).status_code == 404, name


def test_an_invalid_property_comes_back_in_its_place_with_the_error(
    as_agent_a, ticket_a, nothing_written
):
    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/do/assignee/",
            {"agent": "", "version": ticket_a.version},
            **HTMX,
        )
    assert response.status_code == 422
    row = prop(response.content.decode(), "assignee")
    assert 'class="inline-prop"' in row and "This field is required." in row


def test_a_refused_merge_comes_back_in_its_open_dialog(as_agent_a, ticket_a, nothing_written):
    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/do/merge/", {"numbers": "999999"}, **HTMX
        )
    assert response.status_code == 409
    html = response.content.decode()
    dialog = html.split('<dialog id="dialog-merge"')[1].split("</dialog>")[0]
    assert " open data-show" in dialog
    assert "Ticket #999999 was not found." in dialog


def test_merge_link_and_transfer_open_in_dialogs(as_agent_a, ticket_a):
    page = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    labels = {
        "merge": "Merge",
        "link": "Link tickets",
        "transfer": "Transfer",
        "refer": "Refer",
        "edit": "Edit details",
    }
    for name, label in labels.items():
        assert f'<dialog id="dialog-{name}"' in page, name
        assert f'data-dialog="dialog-{name}" data-action="open-{name}">{label}</a>' in page, name


# --- the client beside the thread -----------------------------------------------------------
def test_the_clients_other_tickets_are_only_those_the_agent_may_see(as_agent_a, cast, ticket_a):
    other_a = open_ticket(cast.alice, department=cast.dept_a, subject="Toner is empty")
    hidden_b = open_ticket(cast.alice, department=cast.dept_b, subject="Refund please")
    someone_else = open_ticket(cast.bob, department=cast.dept_a, subject="Not alice's")
    page = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    client = page.split('aria-labelledby="client-title"')[1].split("</section>")[0]
    assert f"#{other_a.number}" in client and "Toner is empty" in client
    assert '<span class="badge state-open">Open</span>' in client  # its status, named
    assert hidden_b.number not in client and "Refund please" not in client
    assert someone_else.number not in client
    assert f"#{ticket_a.number}<" not in client  # not the ticket itself
    assert "Acme" in client  # the organization


def test_the_directory_links_only_for_who_may_browse_it(cast, ticket_a):
    page = signed_in(cast.agent_a).get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    client = page.split('aria-labelledby="client-title"')[1].split("</section>")[0]
    assert f"/scp/orgs/{cast.acme.pk}/" not in client
    page = signed_in(cast.admin).get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    client = page.split('aria-labelledby="client-title"')[1].split("</section>")[0]
    assert f"/scp/orgs/{cast.acme.pk}/" in client
    assert f"/scp/users/{cast.alice.pk}/" in client


# --- query budget ---------------------------------------------------------------------------
def test_the_ticket_page_costs_the_same_number_of_queries_whatever_it_holds(
    cast, ticket_a, details
):
    client = signed_in(cast.agent_a)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/scp/tickets/{ticket_a.number}/").status_code == 200
        return len(ctx.captured_queries)

    open_ticket(cast.alice, department=cast.dept_a, subject="Another one")
    services.ticket_add_collaborator(actor=cast.admin, ticket=ticket_a, user=cast.bob)
    services.ticket_post_note(actor=cast.admin, ticket=ticket_a, body="First note")
    services.ticket_edit(actor=cast.admin, ticket=ticket_a, topic=details)
    services.ticket_edit(actor=cast.admin, ticket=fresh(ticket_a), custom_fields={"serial": "1"})
    count()  # warm the per-process caches (settings, content types)
    short = count()
    for i in range(12):
        open_ticket(cast.alice, department=cast.dept_a, subject=f"More {i}")
        services.ticket_post_note(
            actor=cast.admin, ticket=ticket_a, body=f"Note {i}", files=[attachment(f"f{i}.txt")]
        )
    for person in (cast.alice_colleague, cast.stranger):
        services.ticket_add_collaborator(actor=cast.admin, ticket=ticket_a, user=person)
    services.ticket_assign(actor=cast.admin, ticket=fresh(ticket_a), agent=cast.manager_a)
    long = count()
    assert long == short
    page = client.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert len(re.findall(r'<li><a href="/scp/tickets/\d+/">#', page)) == 10  # ten shown


def test_a_malformed_inline_parameter_is_a_400_naming_it(as_agent_a, ticket_a):
    response = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/do/priority/?inline=yes", **HTMX)
    assert response.status_code == 400
    assert "inline" in response.content.decode().lower()
    plain = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/do/priority/", **HTMX)
    assert ">Priority</button>" in plain.content.decode()  # not in place: the action's title
