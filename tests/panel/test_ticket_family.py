"""The panel's merge modes, unmerge and "create a ticket from this entry"."""

import pytest

from threads.models import ThreadEntry
from tickets import services
from tickets.models import Ticket, TicketLink

from ..factories import AgentFactory, attachment, open_ticket, role, status
from .conftest import signed_in

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def dup(cast):
    return open_ticket(cast.bob, department=cast.dept_a, subject="Same jam", body="Jammed too")


# --- merge and unmerge ---------------------------------------------------------------------------


def test_a_separate_merge_from_the_panel_shows_the_childs_thread_under_the_parent(
    as_agent_a, cast, ticket_a, dup
):
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/do/merge/",
        {
            "numbers": dup.number,
            "mode": "separate",
            "participants": "requesters",
            "child_status": status("Resolved").pk,
        },
    )

    assert response.status_code == 302
    child = fresh(dup)
    assert (child.merged_into_id, child.merge_mode, child.status.name) == (
        ticket_a.pk,
        "separate",
        "Resolved",
    )
    page = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert "Thread of merged ticket" in page and "Jammed too" in page
    assert f'action="/scp/tickets/{dup.number}/unmerge/"' in page
    child_page = as_agent_a.get(f"/scp/tickets/{dup.number}/").content.decode()
    assert f'Merged into <a href="/scp/tickets/{ticket_a.number}/">' in child_page


def test_merging_a_parent_into_its_child_is_refused_on_the_form(
    as_agent_a, cast, ticket_a, dup, nothing_written
):
    services.ticket_merge(actor=cast.agent_a, ticket=ticket_a, sources=[dup])

    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{dup.number}/do/merge/", {"numbers": ticket_a.number, "mode": "combine"}
        )

    assert response.status_code == 409
    assert "cannot take its own parent" in response.content.decode()


def test_unmerge_from_the_panel_detaches_the_child(as_agent_a, cast, ticket_a, dup):
    services.ticket_merge(actor=cast.agent_a, ticket=ticket_a, sources=[dup])

    response = as_agent_a.post(f"/scp/tickets/{dup.number}/unmerge/", **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="ticket"') and "is on its own again" in html
    child = fresh(dup)
    assert (child.merged_into_id, child.state) == (None, "open")
    assert ThreadEntry.objects.filter(thread_id=dup.thread_id).count() == 1  # taken back


def test_unmerging_a_ticket_that_is_not_merged_is_a_409_and_writes_nothing(
    as_agent_a, ticket_a, nothing_written
):
    with nothing_written():
        response = as_agent_a.post(f"/scp/tickets/{ticket_a.number}/unmerge/")

    assert response.status_code == 409
    assert "is not merged into another ticket" in response.content.decode()


def test_unmerge_of_an_invisible_ticket_is_404(as_agent_b, cast, ticket_a, dup, nothing_written):
    services.ticket_merge(actor=cast.agent_a, ticket=ticket_a, sources=[dup])

    with nothing_written():
        response = as_agent_b.post(f"/scp/tickets/{dup.number}/unmerge/")

    assert response.status_code == 404


# --- create a ticket from an entry --------------------------------------------------------------


def test_an_entry_becomes_a_new_linked_ticket(as_agent_a, cast, ticket_a):
    entry = services.ticket_post_message(
        actor=cast.alice, ticket=ticket_a, body="Also the scanner.", files=[attachment()]
    ).entry
    page = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    url = f"/scp/tickets/{ticket_a.number}/entries/{entry.pk}/split/"
    assert f'href="{url}"' in page

    form = as_agent_a.get(url)
    assert form.status_code == 200
    assert 'value="Printer on fire"' in form.content.decode()
    assert f'value="{cast.alice.email}"' in form.content.decode()

    response = as_agent_a.post(
        url,
        {
            "subject": "Scanner",
            "email": cast.alice.email,
            "department": cast.dept_a.pk,
            "autorespond": "on",
        },
    )

    new = Ticket.objects.get(subject="Scanner")
    assert response.status_code == 302 and response["Location"] == f"/scp/tickets/{new.number}/"
    first = ThreadEntry.objects.get(thread_id=new.thread_id)
    assert first.body_text == "Also the scanner." and first.attachments.count() == 1
    assert TicketLink.objects.count() == 1
    assert fresh(ticket_a).thread.events.filter(kind="split").exists()


def test_an_invalid_split_form_writes_nothing(as_agent_a, cast, ticket_a, nothing_written):
    entry = ThreadEntry.objects.get(thread_id=ticket_a.thread_id)

    with nothing_written():
        response = as_agent_a.post(
            f"/scp/tickets/{ticket_a.number}/entries/{entry.pk}/split/",
            {"subject": "", "email": "not an address"},
        )

    assert response.status_code == 422
    assert response.context["form"].errors == {
        "subject": ["This field is required."],
        "email": ["Enter a valid email address."],
    }


def test_splitting_into_a_department_without_ticket_create_is_403(cast, ticket_a, nothing_written):
    entry = ThreadEntry.objects.get(thread_id=ticket_a.thread_id)
    agent = AgentFactory(department=cast.dept_a, extra_departments={cast.dept_b: "View only"})

    as_agent = signed_in(agent)
    with nothing_written():
        response = as_agent.post(
            f"/scp/tickets/{ticket_a.number}/entries/{entry.pk}/split/",
            {"subject": "Elsewhere", "email": cast.alice.email, "department": cast.dept_b.pk},
        )

    assert response.status_code == 403
    assert "Your role in Billing does not allow ticket.create." in response.content.decode()


def test_the_split_page_is_404_for_an_invisible_ticket_or_a_foreign_entry(
    as_agent_a, as_agent_b, cast, ticket_a, ticket_b
):
    entry_a = ThreadEntry.objects.get(thread_id=ticket_a.thread_id)
    entry_b = ThreadEntry.objects.get(thread_id=ticket_b.thread_id)

    assert (
        as_agent_b.get(f"/scp/tickets/{ticket_a.number}/entries/{entry_a.pk}/split/").status_code
        == 404
    )
    assert (
        as_agent_a.get(f"/scp/tickets/{ticket_a.number}/entries/{entry_b.pk}/split/").status_code
        == 404
    )


def test_agents_who_may_not_create_tickets_are_not_offered_the_split(cast, ticket_a):
    viewer = AgentFactory(department=cast.dept_a, role=role("View only"))

    page = signed_in(viewer).get(f"/scp/tickets/{ticket_a.number}/").content.decode()

    assert 'data-action="split"' not in page


# --- close and reopen ---------------------------------------------------------------------------


def test_closing_from_the_panel_gives_the_ticket_to_the_closer(as_agent_a, cast, ticket_a):
    response = as_agent_a.post(
        f"/scp/tickets/{ticket_a.number}/do/status/", {"status": status("Resolved").pk}
    )

    assert response.status_code == 302
    closed = fresh(ticket_a)
    assert (closed.state, closed.assignee) == ("closed", cast.agent_a)
    page = as_agent_a.get(f"/scp/tickets/{ticket_a.number}/").content.decode()
    assert 'class="event event-assigned"' in page and 'class="event event-referred"' in page
