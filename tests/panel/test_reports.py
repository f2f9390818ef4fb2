"""/scp/reports/: the page, its filters, stats.agents and department visibility on the
page and its CSV export, the audit of the export, and the query budget."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEntry
from helpdesk.reports.models import DailyStat, Fact
from helpdesk.reports.rollup import days_rollup
from tests.factories import AgentFactory, DepartmentFactory

from .conftest import signed_in

pytestmark = pytest.mark.django_db
TODAY = timezone.now().astimezone(dt.UTC).date()


def fact(dept, agent=None, kind=Fact.Kind.OPENED, day=TODAY, **kw):
    return Fact(
        ticket_id=kw.pop("ticket_id", 1),
        kind=kind,
        at=dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC),
        day=day,
        department_id=dept.pk,
        agent_id=getattr(agent, "pk", None),
        channel=kw.pop("channel", "web"),
        backlog=1 if kind == Fact.Kind.OPENED else 0,
        **kw,
    )


@pytest.fixture
def figures(cast):
    """Today: 2 tickets opened in Support (one held by alex, who replied twice), 1 in
    Billing (held by bea, closed in 2 h)."""
    Fact.objects.bulk_create(
        [
            fact(cast.dept_a, cast.agent_a, ticket_id=1),
            fact(cast.dept_a, ticket_id=2, channel="email"),
            fact(
                cast.dept_a, cast.agent_a, Fact.Kind.RESPONSE, ticket_id=1, seconds=600, first=True
            ),
            fact(cast.dept_a, cast.agent_a, Fact.Kind.RESPONSE, ticket_id=1, seconds=1200),
            fact(cast.dept_b, cast.agent_b, ticket_id=3),
            fact(
                cast.dept_b, cast.agent_b, Fact.Kind.CLOSED, ticket_id=3, seconds=7200, met_sla=True
            ),
        ]
    )
    days_rollup([TODAY])


@pytest.fixture
def lead(cast):
    return AgentFactory(username="lead", department=cast.dept_a, permissions=["stats.agents"])


def table(body: str) -> str:
    start = body.index('id="report-table"')
    return body[start : body.index("</table>", start)]


def export(client, query=""):
    response = client.get(f"/scp/reports/export/{query}")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return response, list(csv.reader(io.StringIO(text)))


def test_every_agent_has_the_reports_page_in_the_navigation(cast, figures):
    client = signed_in(cast.agent_a)
    assert b'href="/scp/reports/"' in client.get("/scp/").content
    response = client.get("/scp/reports/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="report-data" type="application/json"' in body
    assert "vendor/chartjs/chart.umd.js" in body and "<script>" not in body  # no inline code
    assert 'id="series-table"' in body and 'id="channels-table"' in body


def test_without_stats_agents_the_page_shows_only_my_row(cast, figures):
    body = signed_in(cast.agent_a).get("/scp/reports/?dimension=department").content.decode()
    rows = table(body)
    assert cast.agent_a.display_name in rows
    assert "Support" not in rows  # forced to the agent dimension, their own row
    assert "stats.agents" in body


def test_with_stats_agents_the_lead_sees_the_agents_of_their_departments(cast, figures, lead):
    body = signed_in(lead).get("/scp/reports/?dimension=agent").content.decode()
    rows = table(body)
    assert cast.agent_a.display_name in rows
    assert cast.agent_b.display_name not in rows  # department B


def test_the_admin_sees_every_department(cast, figures):
    rows = table(signed_in(cast.admin).get("/scp/reports/").content.decode())
    assert "Support" in rows and "Billing" in rows


def test_the_export_holds_the_table_rows_of_my_departments_and_is_audited(cast, figures, lead):
    response, rows = export(signed_in(lead), "?dimension=department&period=7")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    assert rows[0][:5] == ["Department", "Opened", "Assigned", "Overdue", "Closed"]
    assert [r[0] for r in rows[1:]] == ["Support"]  # not Billing
    assert rows[1][1] == "2" and rows[1][-1] == "2"  # opened, replies
    entry = AuditEntry.objects.get(action="export.created")
    assert entry.actor_user == lead and "department" in entry.detail


def test_the_admin_export_has_the_figures_of_billing(cast, figures):
    _, rows = export(signed_in(cast.admin), "?dimension=department")
    billing = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == "Billing"), strict=True))
    assert billing["Closed"] == "1" and billing["Service time (h)"] == "2.0"
    assert billing["Resolution, median (h)"] == "2.0" and billing["SLA compliance (%)"] == "100.0"


def test_another_departments_filter_is_refused_on_the_page_and_the_export(cast, figures, lead):
    client = signed_in(lead)
    response = client.get(f"/scp/reports/?department={cast.dept_b.pk}")
    assert response.status_code == 400
    assert "Billing" not in table(response.content.decode())
    assert client.get(f"/scp/reports/export/?department={cast.dept_b.pk}").status_code == 400
    assert not AuditEntry.objects.filter(action="export.created").exists()


@pytest.mark.parametrize(
    "query",
    [
        "?period=13",
        "?granularity=hour",
        "?dimension=priority",
        "?period=custom",
        "?period=custom&start=2026-03-05&end=2026-03-01",
        "?period=custom&start=2020-01-01&end=2026-03-01",
        "?start=2026-02-30",
        "?department=abc",
    ],
)
def test_bad_filters_give_a_400_with_the_page(cast, query):
    response = signed_in(cast.admin).get("/scp/reports/" + query)
    assert response.status_code == 400
    assert b'id="report-table"' in response.content


def test_a_custom_period_and_granularity_come_from_the_url(cast, figures):
    day = TODAY.isoformat()
    url = f"/scp/reports/?period=custom&start={day}&end={day}&granularity=week"
    body = signed_in(cast.admin).get(url).content.decode()
    assert f'value="{day}"' in body
    assert 'value="week" selected' in body


def test_the_query_count_does_not_grow_with_the_rows(cast, lead):
    client = signed_in(cast.admin)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/scp/reports/?dimension=agent&period=90").status_code == 200
        return len(ctx)

    Fact.objects.bulk_create([fact(cast.dept_a, cast.agent_a)])
    days_rollup([TODAY])
    count()  # the first request of a session loads what later ones find cached
    few = count()
    facts = []
    for i in range(12):
        dept = DepartmentFactory()
        agent = AgentFactory(username=f"extra{i}", department=dept)
        for n in range(3):
            day = TODAY - dt.timedelta(days=n * 7)
            facts.append(fact(dept, agent, day=day, ticket_id=100 + i))
            facts.append(
                fact(dept, agent, Fact.Kind.CLOSED, day=day, seconds=60 * i, ticket_id=100 + i)
            )
    Fact.objects.bulk_create(facts)
    days_rollup({f.day for f in facts})
    assert DailyStat.objects.count() > 12
    assert count() == few


def test_the_filter_form_as_a_browser_sends_it_is_accepted(cast, figures):
    url = "/scp/reports/?period=7&start=&end=&granularity=day&dimension=agent&department="
    response = signed_in(cast.admin).get(url)
    assert response.status_code == 200
    assert cast.agent_a.display_name in table(response.content.decode())


def test_the_report_exports_as_xlsx_too_and_a_bad_filter_says_why(cast, figures, lead):
    import io
    import zipfile

    client = signed_in(lead)
    response = client.get("/scp/reports/export/?dimension=department&period=7&format=xlsx")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    sheet = zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml").decode()
    assert "Support" in sheet and "Billing" not in sheet
    assert AuditEntry.objects.filter(action="export.created").count() == 1

    bad = client.get("/scp/reports/?granularity=fortnight")
    assert bad.status_code == 400 and "query-errors" in bad.content.decode()
    refused = client.get("/scp/reports/export/?format=pdf")
    assert refused.status_code == 400
    assert AuditEntry.objects.filter(action="export.created").count() == 1
