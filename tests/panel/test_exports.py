"""Exports of queues, search results and task queues: the page's columns, filters,
sort and visibility; formulas neutralised; an audit entry for each; over the threshold,
a job writes the file, the agent is alerted and mailed, and only they download it until
it expires and is purged."""

import csv
import datetime as dt
import io
import json

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEntry
from helpdesk.alerts.models import Alert
from helpdesk.exports.models import ExportJob
from helpdesk.exports.services import exports_purge
from helpdesk.panel import queues as ticket_queues
from helpdesk.panel import task_queues
from helpdesk.panel.models import SavedQueue
from tickets import services

from ..exports.xlsx import read
from ..factories import open_ticket
from .conftest import new_task, signed_in

pytestmark = pytest.mark.django_db

DEFAULT_HEADER = ["Ticket", "Last updated", "Subject", "From", "Priority", "Assigned to", "Due"]


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="tickets-')
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def _xlsx(response) -> list[list]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows, formulas = read(b"".join(response.streaming_content))
    assert not formulas
    return rows


def _export(client, path: str, fmt: str = "csv", query: str = ""):
    return client.post(f"{path}?{query}" if query else path, {"format": fmt})


def _open(cast, n, dept=None, **kw):
    return [
        open_ticket(cast.alice, department=dept or cast.dept_a, subject=f"Ticket {i}", **kw)
        for i in range(n)
    ]


def test_every_queue_column_has_a_cell():
    assert set(ticket_queues.CELLS) == set(ticket_queues.COLUMNS)
    assert set(task_queues.CELLS) == {key for key, _label, _sort in task_queues.COLUMNS}


def test_a_queue_exports_its_columns_and_rows_in_its_order(cast, as_agent_a, ticket_b):
    first, second = _open(cast, 2)
    services.ticket_assign(actor=cast.admin, ticket=first, agent=cast.agent_a, team=None)
    first.refresh_from_db()
    rows = _csv(_export(as_agent_a, "/scp/queues/open/export/"))
    assert rows[0] == DEFAULT_HEADER
    assert [r[0] for r in rows[1:]] == [first.number, second.number]  # last updated first
    assert rows[1] == [
        first.number,
        first.updated_at.isoformat(),
        "Ticket 0",
        cast.alice.display_name,
        first.priority.name,
        cast.agent_a.display_name,
        first.effective_due_at.isoformat() if first.effective_due_at else "",
    ]
    assert ticket_b.number not in {r[0] for r in rows}  # department B: not the agent's


def test_the_sort_of_the_page_is_kept(cast, as_agent_a):
    tickets = _open(cast, 3)
    rows = _csv(_export(as_agent_a, "/scp/queues/open/export/", query="sort=number&cursor=bogus"))
    assert [r[0] for r in rows[1:]] == sorted(t.number for t in tickets)


def test_a_saved_queue_exports_its_own_columns_and_filter(cast, as_agent_a):
    ticket = _open(cast, 1)[0]
    _open(cast, 1, cast.dept_b)
    saved = SavedQueue.objects.create(
        owner=cast.agent_a,
        name="Support only",
        criteria={"department": cast.dept_a.pk},
        columns=["number", "department", "status"],
    )
    rows = _csv(_export(as_agent_a, f"/scp/queues/q{saved.pk}/export/"))
    assert rows == [
        ["Ticket", "Department", "Status"],
        [ticket.number, "Support", ticket.status.name],
    ]


def test_an_agent_without_access_to_a_department_exports_none_of_its_tickets(cast, ticket_a):
    rows = _csv(_export(signed_in(cast.agent_b), "/scp/queues/open/export/"))
    assert rows == [DEFAULT_HEADER]


def test_a_queue_exports_as_xlsx_with_the_same_cells(cast, as_agent_a):
    ticket = _open(cast, 1)[0]
    rows = _xlsx(_export(as_agent_a, "/scp/queues/open/export/", "xlsx"))
    assert rows[0] == DEFAULT_HEADER
    assert len(rows) == 2
    assert rows[1][0] == ticket.number
    assert rows[1][2:5] == ["Ticket 0", cast.alice.display_name, ticket.priority.name]


def test_formulas_in_a_subject_are_neutralised_in_both_formats(cast, as_agent_a):
    open_ticket(cast.alice, department=cast.dept_a, subject='=HYPERLINK("http://x.test","y")')
    csv_rows = _csv(_export(as_agent_a, "/scp/queues/open/export/"))
    assert csv_rows[1][2] == '\'=HYPERLINK("http://x.test","y")'
    xlsx_rows = _xlsx(_export(as_agent_a, "/scp/queues/open/export/", "xlsx"))
    assert xlsx_rows[1][2] == '\'=HYPERLINK("http://x.test","y")'


def test_search_results_export_only_what_the_agent_may_find(cast, as_agent_a, ticket_b):
    mine = open_ticket(cast.alice, department=cast.dept_a, subject="Invoice for printer")
    rows = _csv(_export(as_agent_a, "/scp/search/advanced/export/", query="q=invoice"))
    assert rows[0] == DEFAULT_HEADER
    assert [r[0] for r in rows[1:]] == [mine.number]  # not ticket_b, of department B
    job = ExportJob.objects.get()
    assert job.kind == "panel.search" and job.params["criteria"] == {"q": "invoice"}


def test_bad_search_criteria_export_nothing(cast, as_agent_a, ticket_a):
    response = _export(as_agent_a, "/scp/search/advanced/export/", query="created_after=nope")
    assert response.status_code == 302
    assert not ExportJob.objects.exists()
    assert not AuditEntry.objects.filter(action="export.created").exists()


def test_a_task_queue_exports_its_columns(cast, as_agent_a, ticket_a):
    task = new_task(cast.agent_a, department=cast.dept_a, ticket=ticket_a)
    new_task(cast.agent_b, department=cast.dept_b, title="Not for alex")
    response = _export(as_agent_a, "/scp/tasks/queues/open/export/")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == [str(label) for _key, label, _sort in task_queues.COLUMNS]
    assert rows[1:] == [
        [
            task.number,
            "Order the part",
            ticket_a.number,
            "Support",
            "",
            "",
            "Open",
            task.updated_at.isoformat(),
        ]
    ]


def test_every_export_is_audited_with_its_kind_format_filters_and_rows(cast, as_agent_a):
    _open(cast, 2)
    _csv(_export(as_agent_a, "/scp/queues/open/export/", query="sort=created"))
    job = ExportJob.objects.get()
    assert (job.requester, job.status, job.row_count) == (cast.agent_a, "streamed", 2)
    entry = AuditEntry.objects.get(action="export.created")
    assert entry.actor_user == cast.agent_a and entry.target_id == str(job.pk)
    detail = json.loads(entry.detail)
    assert detail["kind"] == "panel.queue" and detail["format"] == "csv"
    assert detail["rows"] == 2 and detail["mode"] == "streamed"
    assert detail["filters"]["queue"] == "open" and detail["filters"]["sort"] == "created"


def test_a_bad_format_or_a_get_exports_nothing(cast, as_agent_a, ticket_a):
    assert _export(as_agent_a, "/scp/queues/open/export/", "pdf").status_code == 400
    assert as_agent_a.get("/scp/queues/open/export/").status_code == 405
    assert as_agent_a.post("/scp/queues/nosuch/export/", {"format": "csv"}).status_code == 404
    assert not ExportJob.objects.exists()
    assert not AuditEntry.objects.exclude(action="signin.succeeded").exists()


def test_a_client_cannot_export(cast, ticket_a):
    response = _export(signed_in(cast.alice), "/scp/queues/open/export/")
    assert response.status_code in (302, 403)
    assert not ExportJob.objects.exists()


def test_the_queue_page_offers_the_export_with_its_query_string(cast, as_agent_a, ticket_a):
    html = as_agent_a.get("/scp/queues/open/?sort=number").content.decode()
    assert 'action="/scp/queues/open/export/?sort=number"' in html
    assert 'value="csv"' in html and 'value="xlsx"' in html


def test_the_search_page_offers_the_export_of_its_results(cast, as_agent_a, ticket_a):
    html = as_agent_a.get("/scp/search/advanced/?q=printer&sort=number").content.decode()
    assert 'action="/scp/search/advanced/export/?q=printer&amp;sort=number"' in html


def test_a_task_queue_page_offers_the_export(cast, as_agent_a):
    html = as_agent_a.get("/scp/tasks/queues/closed/").content.decode()
    assert 'action="/scp/tasks/queues/closed/export/"' in html


# --- query budget -------------------------------------------------------------------------
def _export_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        _csv(_export(client, "/scp/queues/open/export/"))
    return len(ctx.captured_queries)


def test_an_export_costs_the_same_number_of_queries_whatever_its_size(cast, as_agent_a):
    _open(cast, 3)
    as_agent_a.get("/scp/queues/open/")  # the session written once
    _export_queries(as_agent_a)  # the configuration caches filled (run alone: 11, then 10)
    small = _export_queries(as_agent_a)
    _open(cast, 12)
    assert _export_queries(as_agent_a) == small


# --- over the threshold: a job ------------------------------------------------------------
@pytest.fixture
def big(settings, cast):
    settings.EXPORT_SYNC_MAX_ROWS = 2
    settings.HELPDESK_BASE_URL = "https://help.example.test"
    return _open(cast, 3)


def _queue_job(client, run, fmt="csv"):
    response = run(_export, client, "/scp/queues/open/export/", fmt, "sort=number")
    assert response.status_code == 302 and response["Location"] == "/scp/queues/open/?sort=number"
    return ExportJob.objects.get()


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def _run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return _run


def test_a_large_export_is_written_by_a_job_then_alerted_and_mailed(cast, big, run):
    client = signed_in(cast.agent_a)
    job = _queue_job(client, run)
    assert job.status == "done" and job.row_count == 3
    assert default_storage.exists(job.file_name) and job.file_name.startswith("exports/")
    detail = json.loads(AuditEntry.objects.get(action="export.created").detail)
    assert detail["mode"] == "job" and detail["rows"] == "more than 2"
    alert = Alert.objects.get(recipient=cast.agent_a)
    assert (alert.kind, alert.export_id) == ("export.ready", job.pk)
    assert job.download_name in client.get("/scp/alerts/").content.decode()
    [message] = mail.outbox
    link = f"https://help.example.test/scp/exports/{job.pk}/download/"
    assert message.to == [cast.agent_a.email] and link in message.body
    response = client.get(f"/scp/exports/{job.pk}/download/")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == DEFAULT_HEADER
    assert [r[0] for r in rows[1:]] == sorted(t.number for t in big)


def test_opening_the_alert_downloads_the_file(cast, big, run):
    client = signed_in(cast.agent_a)
    job = _queue_job(client, run, "xlsx")
    alert = Alert.objects.get(recipient=cast.agent_a)
    response = client.post(f"/scp/alerts/{alert.pk}/open/")
    assert response.status_code == 302
    assert response["Location"] == f"/scp/exports/{job.pk}/download/"
    rows = _xlsx(client.get(response["Location"]))
    assert [r[0] for r in rows[1:]] == sorted(t.number for t in big)


def test_another_agent_cannot_download_an_export(cast, big, run):
    job = _queue_job(signed_in(cast.agent_a), run)
    assert signed_in(cast.admin).get(f"/scp/exports/{job.pk}/download/").status_code == 404
    assert not Alert.objects.filter(recipient=cast.admin).exists()


def test_an_expired_export_is_refused_then_purged(cast, big, run):
    client = signed_in(cast.agent_a)
    job = _queue_job(client, run)
    kept = ExportJob.objects.create(
        requester=cast.agent_a,
        kind="panel.queue",
        format="csv",
        status="streamed",
        download_name="kept.csv",
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(f"/scp/exports/{job.pk}/download/").status_code == 404
    assert exports_purge() == 1
    assert not default_storage.exists(job.file_name)
    assert list(ExportJob.objects.all()) == [kept]
    assert not Alert.objects.filter(export_id=job.pk).exists()


def test_a_job_reads_what_the_agent_may_see_when_it_runs(cast, big, run, settings):
    client = signed_in(cast.agent_b)
    _open(cast, 3, cast.dept_b)
    job = _queue_job(client, run)
    with default_storage.open(job.file_name) as f:
        rows = list(csv.reader(io.StringIO(f.read().decode("utf-8-sig"))))
    assert len(rows) == 4 and not {t.number for t in big} & {r[0] for r in rows}


def test_a_failed_job_is_alerted_and_listed_with_its_reason(cast, big, run, monkeypatch):
    from helpdesk.exports import writers

    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 2)  # a sheet "too small" for 3 rows
    client = signed_in(cast.agent_a)
    job = _queue_job(client, run, "xlsx")
    assert job.status == "failed" and "export as CSV" in job.error
    assert not job.file_name
    assert not default_storage.exists("exports") or not default_storage.listdir("exports")[1]
    alert = Alert.objects.get(recipient=cast.agent_a)
    assert alert.kind == "export.failed"
    assert client.post(f"/scp/alerts/{alert.pk}/open/")["Location"] == "/scp/exports/"
    html = client.get("/scp/exports/").content.decode()
    assert job.download_name in html and "export as CSV" in html
    assert f"/scp/exports/{job.pk}/download/" not in html
    assert client.get(f"/scp/exports/{job.pk}/download/").status_code == 404
    assert not mail.outbox


def test_the_exports_page_lists_the_agents_own_jobs_only(cast, big, run):
    job = _queue_job(signed_in(cast.agent_a), run)
    mine = signed_in(cast.agent_a).get("/scp/exports/").content.decode()
    assert f'href="/scp/exports/{job.pk}/download/"' in mine
    theirs = signed_in(cast.admin).get("/scp/exports/").content.decode()
    assert job.download_name not in theirs and "No exports." in theirs


def test_rows_read_already_are_streamed_and_audited(cast, rf):
    from helpdesk import exports

    request = rf.post("/scp/reports/agents/export/")
    request.user = cast.agent_a
    response = exports.respond(
        request,
        name="agents",
        header=["Agent", "Closed"],
        rows=[["alex", 3], ["=bad", 1]],
        format="csv",
        audit_detail={"period": "30d"},
    )
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines() == ["Agent,Closed", "alex,3", "'=bad,1"]
    job = ExportJob.objects.get()
    assert (job.kind, job.status, job.row_count) == ("rows:agents", "streamed", 2)
    detail = json.loads(AuditEntry.objects.get(action="export.created").detail)
    assert detail["filters"] == {"period": "30d"} and detail["rows"] == 2
