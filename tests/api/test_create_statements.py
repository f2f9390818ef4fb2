"""The SQL statements of one ticket create, through /api/v1/tickets/ and through the
osTicket-compatible /api/tickets.json (issue 19: at most 13 per create).

Counted as bench/api.py's steady state: the caller and the requester exist, the
process has answered a create before. With a known requester the views open no
transaction of their own (only a new requester must go with a refused opening), so
the service's transaction is the outermost: BEGIN and COMMIT in production, which
Django's cursor does not run as statements; inside a test it is a savepoint (the
test's own transaction is outside), which adds its SAVEPOINT and RELEASE: 9 in
production are 11 here (the ticket's INSERT needs no savepoint of its own: a number
that was taken is skipped by ON CONFLICT, accounts.rows.RowConflict). Exact counts, so
that a statement added anywhere on the path shows up here first.
"""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Organization, User
from tests.factories import ClientFactory
from tickets.models import Ticket

PRODUCTION = 9  # BEGIN and COMMIT are not statements Django's cursor runs
TEST_SAVEPOINT = 2  # the service's atomic block nested in the test's transaction


@pytest.fixture
def requester(cast):
    return ClientFactory(email="requester@bench.test", organization=cast.acme)


def statements_of(create) -> list[str]:
    create(0)  # warm: what a process reads once (query plans, caches)
    with CaptureQueriesContext(connection) as queries:
        response = create(1)
    assert response.status_code == 201, response.content
    return [q["sql"] for q in queries.captured_queries]


def test_a_create_through_v1_runs_nine_statements(api, cast, defaults, requester):
    client = api.agent(cast.agent_a)

    def create(i):
        body = {"subject": f"Bench {i}", "body": "On fire.", "requester_email": requester.email}
        return client.post("/api/v1/tickets/", body, format="json")

    sql = statements_of(create)

    assert len(sql) == PRODUCTION + TEST_SAVEPOINT, "\n".join(sql)
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1  # the test's nesting only
    ticket = Ticket.objects.order_by("-pk").first()
    assert ticket.requester == requester and ticket.organization == cast.acme


def test_a_create_through_tickets_json_runs_nine_statements(api, cast, defaults, requester):
    client = api.key(write=[cast.dept_a], can_create_tickets=True)

    def create(i):
        body = {
            "name": "Requester",
            "email": requester.email,
            "subject": f"osTicket {i}",
            "message": "data:text/plain,On fire.",
        }
        return Client().post(
            "/api/tickets.json",
            json.dumps(body),
            content_type="application/json",
            HTTP_X_API_KEY=client.secret,
        )

    sql = statements_of(create)

    assert len(sql) == PRODUCTION + TEST_SAVEPOINT, "\n".join(sql)
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1  # the test's nesting only
    ticket = Ticket.objects.order_by("-pk").first()
    assert ticket.requester == requester and ticket.organization == cast.acme


def test_a_new_requester_goes_when_the_opening_is_refused(api, cast, defaults):
    """The views' own transaction, still there when a requester is created: a key
    that may not write where routing sends the ticket (dept_a) is refused by the
    service, after the requester was created, and the requester goes with it."""
    client = api.key(write=[cast.dept_b], can_create_tickets=True)
    v1 = {"subject": "S", "body": "B", "requester_email": "new-v1@bench.test"}
    osticket = {
        "name": "New",
        "email": "new-os@bench.test",
        "subject": "S",
        "message": "data:text/plain,B",
    }

    refused_v1 = client.post("/api/v1/tickets/", v1, format="json")
    refused_os = Client().post(
        "/api/tickets.json",
        json.dumps(osticket),
        content_type="application/json",
        HTTP_X_API_KEY=client.secret,
    )

    assert refused_v1.status_code == 403 and refused_os.status_code == 403
    assert not User.objects.filter(email__in=["new-v1@bench.test", "new-os@bench.test"])
    assert not Ticket.objects.exists()


def test_the_requester_comes_with_organization_and_preferences_in_one_statement(cast):
    from accounts.selectors import user_find_by_email
    from helpdesk.portal.models import ClientPreferences

    with_prefs = ClientFactory(email="Pref@Bench.test", organization=cast.acme)
    ClientPreferences.objects.create(user=with_prefs, language="fr")
    without = ClientFactory(email="none@bench.test", organization=None)

    with CaptureQueriesContext(connection) as queries:
        found = user_find_by_email("pref@bench.test")
        seen = (found.organization.name, found.portal_preferences.language)
        alone = user_find_by_email("NONE@bench.test")
        assert alone.organization is None
        with pytest.raises(ClientPreferences.DoesNotExist):
            alone.portal_preferences  # noqa: B018
    assert len(queries) == 2
    assert found == with_prefs and alone == without
    assert seen == ("Acme", "fr")
    assert isinstance(found.organization, Organization)
    assert found.portal_preferences.user is found
