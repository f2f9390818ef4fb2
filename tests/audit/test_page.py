"""The audit log in the panel (/scp/audit/): helpdesk admins only, filters by actor,
kind, object and dates, keyset pages with a constant query count, and a CSV export
that is itself recorded."""

import csv
import datetime as dt
import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import audit
from accounts.actors import SYSTEM
from accounts.models import AuditEntry
from routing.models import Department

pytestmark = pytest.mark.django_db

URL = "/scp/audit/"
EXPORT = "/scp/audit/export.csv"


@pytest.fixture
def entries(cast):
    """Four entries by different actors, about different objects, on different days."""
    sales = Department.objects.create(name="Sales")
    now = timezone.now()
    made = {
        "dept": audit.record(
            "department.updated",
            actor=cast.admin,
            target=sales,
            changes={"name": ["Sale", "Sales"]},
            at=now - dt.timedelta(days=10),
        ),
        "lock": audit.record("account.locked", actor=cast.agent_a, target=cast.alice, at=now),
        "signin": audit.record(
            "signin.failed", actor=None, target_label='=HYPERLINK("http://x")', at=now
        ),
        "other_dept": audit.record(
            "department.created", actor=SYSTEM, target=cast.dept_b, at=now - dt.timedelta(days=3)
        ),
    }
    return sales, made


def shown(response) -> list[int]:
    return [e.pk for e in response.context["page"].rows]


def test_an_agent_who_is_not_an_admin_gets_the_refusal_page(client, cast, entries):
    client.force_login(cast.agent_a)

    for url in (URL, EXPORT):
        response = client.get(url)
        assert response.status_code == 403
        assert "staff/refused.html" in [t.name for t in response.templates]
        assert "Only helpdesk admins may open this page." in response.content.decode()
    assert not AuditEntry.objects.filter(action="export.created").exists()


def test_a_client_and_nobody_are_kept_out(client, cast, entries):
    assert client.get(URL)["Location"].startswith("/scp/login/")
    client.force_login(cast.alice)
    assert client.get(URL).status_code == 403


def test_an_admin_sees_every_entry_newest_first_with_its_changes(client, cast, entries):
    _sales, made = entries
    client.force_login(cast.admin)

    response = client.get(URL)

    assert response.status_code == 200
    ids = shown(response)
    assert set(ids) >= {e.pk for e in made.values()}
    assert ids == sorted(ids, reverse=True)
    html = response.content.decode()
    assert "department.updated" in html and "Sale → Sales" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind": "department"}, {"dept", "other_dept"}),
        ({"kind": "account.locked"}, {"lock"}),
        ({"kind": "signin.failed"}, {"signin"}),
    ],
)
def test_the_kind_filter(client, cast, entries, query, expected):
    _sales, made = entries
    client.force_login(cast.admin)

    ids = set(shown(client.get(URL, query)))

    assert ids == {made[k].pk for k in expected}


def test_the_actor_object_and_date_filters(client, cast, entries):
    sales, made = entries
    client.force_login(cast.admin)
    today = timezone.localdate()

    by_actor = shown(client.get(URL, {"actor": cast.agent_a.pk}))
    by_name = set(shown(client.get(URL, {"actor": "system"})))
    by_object = shown(client.get(URL, {"type": "routing.department", "id": sales.pk}))
    by_proxy = shown(client.get(URL, {"type": "accounts.client", "id": cast.alice.pk}))
    recent = set(shown(client.get(URL, {"since": str(today - dt.timedelta(days=5))})))
    older = set(shown(client.get(URL, {"until": str(today - dt.timedelta(days=5))})))

    assert by_actor == [made["lock"].pk]
    assert by_name == {made["other_dept"].pk}  # the system, named
    assert by_object == [made["dept"].pk]
    assert by_proxy == [made["lock"].pk]  # an agent's or a client's page: the user row
    assert {made["lock"].pk, made["other_dept"].pk} <= recent and made["dept"].pk not in recent
    assert older == {made["dept"].pk}


@pytest.mark.parametrize(
    "query",
    [
        {"type": "nope.nothing"},
        {"kind": "Robert'); DROP"},
        {"since": "2026-02-31"},
        {"actor": "x" * 300},
    ],
)
def test_a_bad_filter_answers_400_with_the_page(client, cast, entries, query):
    client.force_login(cast.admin)

    response = client.get(URL, query)

    assert response.status_code == 400
    assert response.context["query_errors"]


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    return len(ctx)


def test_the_page_costs_the_same_queries_for_5_and_50_entries(client, cast):
    client.force_login(cast.admin)
    depts = [Department.objects.create(name=f"D{i}") for i in range(50)]
    for dept in depts[:5]:
        audit.record("department.created", actor=cast.agent_a, target=dept)
    client.get(URL)  # the session's and the settings rows' first-visit writes
    few = _queries(client)
    for dept in depts[5:]:
        audit.record("department.created", actor=cast.agent_a, target=dept)
    many = _queries(client)

    assert few == many


def test_pages_follow_one_another_without_overlap(client, cast):
    client.force_login(cast.admin)
    for i in range(55):
        audit.record("settings.updated", actor=SYSTEM, target_label=f"row {i}")

    first = client.get(URL, {"kind": "settings"})
    cursor = first.context["page"].next_cursor
    second = client.get(URL, {"kind": "settings", "cursor": cursor})

    assert len(shown(first)) == 50 and len(shown(second)) == 5
    assert not set(shown(first)) & set(shown(second))


def test_the_csv_export_streams_the_filtered_entries_neutralised_and_is_recorded(
    client, cast, entries
):
    _sales, _made = entries
    client.force_login(cast.admin)

    response = client.get(EXPORT, {"kind": "signin.failed"}, REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:2] == ["at", "action"]
    assert [r[1] for r in rows[1:]] == ["signin.failed"]
    assert rows[1][8] == '\'=HYPERLINK("http://x")'  # a formula becomes text
    export = AuditEntry.objects.get(action="export.created")
    assert (export.actor_user, export.ip) == (cast.admin, "198.51.100.4")
    assert export.detail == '{"kind": "signin.failed"}'


def test_the_export_of_an_object_names_its_type(client, cast, entries):
    sales, _made = entries
    client.force_login(cast.admin)

    response = client.get(EXPORT, {"type": "routing.department", "id": sales.pk})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(r[1], r[6], r[7]) for r in rows[1:]] == [
        ("department.updated", "routing.department", str(sales.pk))
    ]
    assert ContentType.objects.get_for_model(Department).model == "department"
