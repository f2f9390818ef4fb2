"""Quick search (number, email, name, words in the subject and the messages), only over
visible tickets; the directory with its user.dir gate; a new ticket for a client."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets import services
from tickets.models import Ticket

from ..factories import AgentFactory, ClientFactory, open_ticket, role
from .conftest import signed_in

pytestmark = pytest.mark.django_db


def _found(html):
    return [
        chunk.split("</a>")[0] for chunk in html.split('class="number" href="/scp/tickets/')[1:]
    ]


def _numbers(response):
    html = response.content.decode()
    return {c.split('/"')[0] for c in html.split('class="number" href="/scp/tickets/')[1:]}


def test_a_ticket_number_goes_straight_to_the_ticket(as_agent_a, ticket_a):
    response = as_agent_a.get(f"/scp/search/?q=%23{ticket_a.number}")
    assert response["Location"] == f"/scp/tickets/{ticket_a.number}/"


def test_the_number_of_an_invisible_ticket_finds_nothing(as_agent_a, ticket_b):
    response = as_agent_a.get(f"/scp/search/?q={ticket_b.number}")
    assert response.status_code == 200
    assert "No ticket matches." in response.content.decode()


def test_search_by_email_finds_requester_and_collaborator_tickets(as_agent_a, cast):
    own = open_ticket(cast.bob, department=cast.dept_a, subject="Bob's own")
    cc = open_ticket(cast.alice, department=cast.dept_a, subject="Bob in copy")
    services.ticket_add_collaborator(actor=cast.admin, ticket=cc, user=cast.bob)
    open_ticket(cast.alice, department=cast.dept_a, subject="Not Bob")
    open_ticket(cast.bob, department=cast.dept_b, subject="Bob elsewhere")
    assert _numbers(as_agent_a.get(f"/scp/search/?q={cast.bob.email}")) == {own.number, cc.number}


def test_search_by_words_in_subject_message_and_name(as_agent_a, cast):
    by_subject = open_ticket(cast.alice, department=cast.dept_a, subject="Printer jammed")
    by_message = open_ticket(
        cast.alice, department=cast.dept_a, subject="Help", body="The printer makes noise"
    )
    client = ClientFactory(name="Zelda Printer")
    by_name = open_ticket(client, department=cast.dept_a, subject="Something")
    open_ticket(cast.alice, department=cast.dept_a, subject="Scanner", body="scans")
    hidden = open_ticket(cast.bob, department=cast.dept_b, subject="Printer in billing")
    response = as_agent_a.get("/scp/search/?q=printer")
    assert _numbers(response) == {by_subject.number, by_message.number, by_name.number}
    assert hidden.number not in response.content.decode()
    # the subject match ranks first
    assert _found(response.content.decode())[0].startswith(by_subject.number)


def test_each_source_gives_its_most_recent_candidates_in_one_statement(
    as_agent_a, cast, monkeypatch
):
    """Each source (subject, message, name) is cut to its CANDIDATES most recent matches,
    found in one statement on PostgreSQL; a source with more says so."""
    from helpdesk.panel import search

    subjects = [
        open_ticket(cast.alice, department=cast.dept_a, subject=f"Printer {i}") for i in range(3)
    ]
    by_message = open_ticket(
        cast.alice, department=cast.dept_a, subject="Help", body="The printer smokes"
    )
    monkeypatch.setattr(search, "CANDIDATES", 2)
    found = search.quick_search(user=cast.agent_a, text="printer")
    # the oldest subject match is past the cut; the subject matches rank first
    assert [t.number for t in found.tickets] == [
        subjects[2].number,
        subjects[1].number,
        by_message.number,
    ]
    assert found.truncated
    assert found.tickets[0].matched == ["subject"] and found.tickets[2].matched == ["message"]
    html = as_agent_a.get("/scp/search/?q=printer").content.decode()
    assert "refine the words" in html and subjects[0].number not in html
    monkeypatch.setattr(search, "CANDIDATES", 3)
    found = search.quick_search(user=cast.agent_a, text="printer")
    assert not found.truncated and len(found.tickets) == 4
    if connection.vendor == "postgresql":
        with CaptureQueriesContext(connection) as queries:
            search.quick_search(user=cast.agent_a, text="printer")
        sources = [q["sql"] for q in queries if "UNION ALL" in q["sql"]]
        assert len(sources) == 1 and sources[0].count("DESC LIMIT 4)") == 3  # CANDIDATES + 1


def test_search_suggestions_for_htmx(as_agent_a, ticket_a):
    response = as_agent_a.get("/scp/search/?q=printer&suggest=1", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'role="listbox"' in html and f"#{ticket_a.number}" in html and "<html" not in html


@pytest.mark.postgres
def test_full_text_search_stems_ranks_and_uses_the_index(as_agent_a, cast):
    a = open_ticket(cast.alice, department=cast.dept_a, subject="Printers are failing")
    b = open_ticket(cast.alice, department=cast.dept_a, subject="Help", body="printing fails")
    assert _numbers(as_agent_a.get("/scp/search/?q=printer")) == {a.number}
    assert _numbers(as_agent_a.get("/scp/search/?q=print fail")) == {b.number}
    assert _numbers(as_agent_a.get('/scp/search/?q="printers are"')) == {a.number}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN "
            "('panel_ticket_subject_fts', 'panel_entry_body_fts', 'panel_user_name_fts')"
        )
        assert len(cur.fetchall()) == 3
        cur.execute("SET enable_seqscan = off")
        cur.execute(
            "EXPLAIN SELECT id FROM tickets_ticket WHERE "
            "to_tsvector('english'::regconfig, COALESCE(subject, '')) "
            "@@ websearch_to_tsquery('english'::regconfig, 'printer')"
        )
        plan = " ".join(r[0] for r in cur.fetchall())
        cur.execute("SET enable_seqscan = on")
    assert "panel_ticket_subject_fts" in plan


def test_the_advanced_search_filters_by_fields(as_agent_a, cast):
    a = open_ticket(cast.alice, department=cast.dept_a, subject="One")
    open_ticket(cast.bob, department=cast.dept_a, subject="Two")
    html = as_agent_a.get(f"/scp/search/advanced/?requester={cast.alice.email}").content.decode()
    assert f">#{a.number}</a>" in html and "Two" not in html
    bad = as_agent_a.get("/scp/search/advanced/?created_after=yesterday")
    assert bad.status_code == 400 and "Enter a valid date." in bad.content.decode()
    assert bad.context["searched"] is False  # no results beside the error


# --- directory ----------------------------------------------------------------------------------
def test_the_directory_needs_user_dir(cast):
    assert signed_in(cast.agent_a).get("/scp/users/").status_code == 403
    assert signed_in(cast.agent_a).get(f"/scp/users/{cast.alice.pk}/").status_code == 403
    assert 'href="/scp/users/"' not in signed_in(cast.agent_a).get("/scp/").content.decode()


def test_a_user_page_lists_only_the_tickets_the_agent_may_see(cast):
    browser = AgentFactory(username="dir", department=cast.dept_a, permissions=["user.dir"])
    seen = open_ticket(cast.alice, department=cast.dept_a, subject="In Support")
    unseen = open_ticket(cast.alice, department=cast.dept_b, subject="In Billing")
    client = signed_in(browser)
    assert cast.alice.email in client.get("/scp/users/?q=acme").content.decode()
    html = client.get(f"/scp/users/{cast.alice.pk}/").content.decode()
    assert seen.number in html and unseen.number not in html
    org = client.get(f"/scp/orgs/{cast.acme.pk}/").content.decode()
    assert cast.alice_colleague.email in org and seen.number in org and unseen.number not in org
    assert cast.acme.name in client.get("/scp/orgs/").content.decode()


def test_a_new_ticket_on_behalf_of_a_client_is_a_phone_ticket(as_agent_a, cast):
    response = as_agent_a.post(
        "/scp/tickets/new/",
        {
            "email": cast.alice.email,
            "subject": "Called about the printer",
            "body": "She called.",
            "department": cast.dept_a.pk,
        },
    )
    ticket = Ticket.objects.get(subject="Called about the printer")
    assert response["Location"] == f"/scp/tickets/{ticket.number}/"
    assert (ticket.source, ticket.requester, ticket.department) == (
        "phone",
        cast.alice,
        cast.dept_a,
    )


def test_a_new_ticket_is_refused_without_ticket_create_and_nothing_is_written(
    cast, nothing_written
):
    viewer = AgentFactory(username="viewer", department=cast.dept_a, role=role("View only"))
    as_viewer = signed_in(viewer)
    with nothing_written():
        response = as_viewer.post(
            "/scp/tickets/new/",
            {
                "email": cast.alice.email,
                "subject": "Nope",
                "body": "x",
                "department": cast.dept_a.pk,
            },
        )
    assert response.status_code == 403
    assert "Your role in Support does not allow ticket.create." in response.content.decode()
    assert not Ticket.objects.filter(subject="Nope").exists()


def test_a_new_ticket_form_with_bad_input_says_so(as_agent_a, nothing_written):
    with nothing_written():
        response = as_agent_a.post("/scp/tickets/new/", {"email": "not-an-email", "subject": ""})
    assert response.status_code == 422
    assert "Enter a valid email address." in response.content.decode()
    assert response.context["form"].errors == {
        "email": ["Enter a valid email address."],
        "subject": ["This field is required."],
        "body": ["This field is required."],
    }


def test_the_new_ticket_form_prefills_a_client_only_for_agents_with_user_dir(cast):
    from .conftest import signed_in

    url = f"/scp/tickets/new/?user={cast.bob.pk}"
    assert cast.bob.email not in signed_in(cast.agent_a).get(url).content.decode()
    cast.agent_a.permissions = ["user.dir"]
    cast.agent_a.save()
    assert cast.bob.email in signed_in(cast.agent_a).get(url).content.decode()


@pytest.mark.parametrize("apart_reads", [False, True])
def test_search_finds_only_what_each_agent_may_read_statement_kept_or_not(
    cast, settings, apart_reads
):
    """The number's and the words' statements are compiled once per agent scope
    (accounts.compiled.KeptSelect): agents of different scopes, one after the other in a
    process, each find exactly the tickets they may read, the second time as the first;
    an agent with search.all, and a helpdesk admin, their own."""
    from helpdesk.panel import search
    from tickets.selectors import tickets_readable_by

    from ..factories import TeamFactory

    settings.HELPDESK_READS_APART = apart_reads  # (apart only on PostgreSQL with
    # persistent connections: tests/panel/test_reads_apart.py; here the flag is read)
    made = [
        open_ticket(cast.alice, department=cast.dept_a, subject="Printer in A"),
        open_ticket(cast.bob, department=cast.dept_b, subject="Printer in B"),
        open_ticket(cast.alice, department=cast.dept_b, subject="Help", body="printer jam in B"),
        open_ticket(cast.bob, department=cast.dept_b, subject="Teamed printer"),
        open_ticket(cast.bob, department=cast.dept_b, subject="Referred printer"),
    ]
    team = TeamFactory(members=[cast.agent_a])
    services.ticket_assign(actor=cast.admin, ticket=made[3], team=team)
    services.ticket_refer(actor=cast.admin, ticket=made[4], agent=cast.manager_a)
    limited = AgentFactory(department=cast.dept_a, assigned_only=True)
    services.ticket_assign(actor=cast.admin, ticket=made[0], agent=limited)
    seeker = AgentFactory(department=cast.dept_b)
    seeker.permissions = ["search.all"]
    seeker.save(update_fields=["permissions"])
    viewers = [cast.agent_a, cast.agent_b, cast.manager_a, limited, seeker, cast.admin]
    for _round in range(2):
        for user in viewers:
            user = type(user).objects.get(pk=user.pk)  # a request's own instance
            readable = {
                t.number for t in tickets_readable_by(user=user).filter(pk__in=[t.pk for t in made])
            }
            found = search.quick_search(user=user, text="printer")
            assert {t.number for t in found.tickets} == readable, user.username
            for ticket in made:
                exact = search.quick_search(user=user, text=ticket.number).exact
                assert (exact is not None) == (ticket.number in readable), user.username
    assert {t.number for t in search.quick_search(user=seeker, text="printer").tickets} == {
        t.number for t in made
    }
    assert {t.number for t in search.quick_search(user=cast.agent_b, text="printer").tickets} == {
        made[1].number,
        made[2].number,
        made[3].number,
        made[4].number,
    }
