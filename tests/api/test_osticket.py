"""osTicket-compatible endpoints: the contract of ../shared/OSTICKET.md section 2."""

import json
from unittest import mock

import pytest
from django.test import Client

from accounts.actors import SYSTEM
from accounts.apikeys import api_key_create
from accounts.models import ApiKey, User
from routing.models import BannedEmail, Department
from threads.models import Attachment
from tickets.models import Ticket

from ..factories import TopicFactory, priority

EXAMPLE = {
    "alert": True,
    "autorespond": True,
    "source": "API",
    "name": "Angry User",
    "email": "api@example.com",
    "subject": "Testing API",
    "message": "data:text/html,MESSAGE <b>HERE</b>",
    "ip": "123.211.233.122",
    "priority": 2,
    "attachments": [{"file.txt": "data:text/plain;charset=utf-8,content"}],
}


def key(**caps):
    """A key for these endpoints. osTicket's keys have no department scope; ours open
    tickets only in departments they may write, so unless told it writes every one."""
    caps.setdefault("write_departments", list(Department.objects.all()))
    return api_key_create(actor=SYSTEM, name="osticket", allowed_ips=["127.0.0.1"], **caps)[1]


def post(path, body, secret=None, content_type="application/json", **extra):
    headers = {"HTTP_X_API_KEY": secret} if secret else {}
    data = json.dumps(body) if isinstance(body, dict) else body
    return Client().post(path, data=data, content_type=content_type, **headers, **extra)


def text(response) -> str:
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    return response.content.decode()


def test_the_documented_example_creates_a_ticket_and_answers_its_number(defaults):
    response = post("/api/tickets.json", EXAMPLE, key(can_create_tickets=True))

    assert response.status_code == 201
    ticket = Ticket.objects.get(number=text(response))
    assert ticket.subject == "Testing API" and ticket.source == "api"
    assert ticket.requester.email == "api@example.com" and ticket.requester.name == "Angry User"
    assert ticket.priority.pk == 2 and ticket.ip_address == "123.211.233.122"
    entry = ticket.thread.entries.get()
    assert entry.format == "html" and "<b>HERE</b>" in entry.body_html
    att = Attachment.objects.get(entry=entry)
    assert (att.filename, att.file.file.read()) == ("file.txt", b"content")


def test_also_under_http_php_and_with_any_content_type(defaults):
    response = post(
        "/api/http.php/tickets.json",
        EXAMPLE,
        key(can_create_tickets=True),
        content_type="text/plain",
    )

    assert response.status_code == 201


def test_xml_is_parsed_safely(defaults):
    xml = b"""<?xml version="1.0"?>
<ticket alert="false" autorespond="false" source="Email">
  <name>Xml User</name><email>xml@example.com</email><subject>From XML</subject>
  <message type="text/plain"><![CDATA[Plain body]]></message>
  <attachments><file name="a.txt" type="text/plain" encoding="base64">aGVsbG8=</file></attachments>
</ticket>"""

    response = post("/api/tickets.xml", xml, key(can_create_tickets=True), content_type="text/xml")

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(number=text(response))
    assert ticket.source == "email" and ticket.requester.email == "xml@example.com"
    assert Attachment.objects.get().file.file.read() == b"hello"


def test_an_xml_bomb_is_refused(defaults, nothing_written):
    bomb = b"""<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><ticket><subject>&b;</subject></ticket>"""

    secret = key(can_create_tickets=True)
    with nothing_written():
        response = post("/api/tickets.xml", bomb, secret, content_type="text/xml")

    assert response.status_code == 400
    assert text(response) == (
        "XML error: EntitiesForbidden(name='a', system_id=None, public_id=None)"
    )
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("case", "status", "body"),
    [
        ("no key", 401, "Valid API key required"),
        ("unknown key", 401, "Valid API key required"),
        ("other address", 401, "Valid API key required"),
        ("inactive", 401, "API key not found/active or source IP not authorized"),
        ("cron only", 401, "API key not authorized"),
    ],
)
def test_key_errors_as_osticket(defaults, case, status, body, nothing_written):
    secret = None
    if case == "unknown key":
        secret = "BA00B76BAA30F62E1940B46CC1C3C73C"
    elif case == "other address":
        secret = api_key_create(
            actor=SYSTEM, name="x", allowed_ips=["10.9.9.9"], can_create_tickets=True
        )[1]
    elif case == "inactive":
        secret = key(can_create_tickets=True)
        ApiKey.objects.update(is_active=False)
    elif case == "cron only":
        secret = key(can_exec_cron=True)

    with nothing_written():
        response = post("/api/tickets.json", EXAMPLE, secret)

    assert (response.status_code, text(response)) == (status, body)
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/tickets.json"), ("post", "/api/tickets.yaml"), ("post", "/api/nothing")],
)
def test_unsupported_urls(method, path, db, nothing_written):
    with nothing_written():
        response = getattr(Client(), method)(path)

    assert (response.status_code, text(response)) == (400, "URL not supported")


def test_malformed_json(defaults, nothing_written):
    secret = key(can_create_tickets=True)
    with nothing_written():
        response = post("/api/tickets.json", "{", secret)

    assert (response.status_code, text(response)) == (400, "Syntax error, malformed JSON")


def test_validation_errors_are_a_400_with_one_line_per_field(defaults, nothing_written):
    secret = key(can_create_tickets=True)
    with nothing_written():
        response = post(
            "/api/tickets.json",
            {"email": "not-an-email", "name": "X", "priority": "high"},
            secret,
        )

    assert response.status_code == 400
    assert text(response) == (  # a priority that is no id is ignored, as osTicket does
        "Unable to create new ticket: validation errors:\n"
        "email: Valid email address is required\n"
        "subject: Subject is required\n"
        "message: Message content is required"
    )
    assert not User.objects.filter(name="X").exists()


def test_a_new_user_needs_a_name(defaults, nothing_written):
    body = {k: v for k, v in EXAMPLE.items() if k != "name"}

    secret = key(can_create_tickets=True)
    with nothing_written():
        response = post("/api/tickets.json", body, secret)

    assert response.status_code == 400
    assert text(response) == (
        "Unable to create new ticket: validation errors:\nname: Name is required for a new user"
    )


def test_a_banned_sender_is_a_403_and_leaves_nothing(defaults, nothing_written):
    BannedEmail.objects.create(address="@example.com")

    secret = key(can_create_tickets=True)
    with nothing_written():
        response = post("/api/tickets.json", EXAMPLE, secret)

    assert response.status_code == 403
    assert text(response) == (
        "Unable to create new ticket :Ticket denied: api@example.com\n\n"
        "This help desk is for use by authorized users only"
    )
    assert not Ticket.objects.exists()
    assert not User.objects.filter(email="api@example.com").exists()


def test_unknown_fields_are_ignored_never_applied(defaults, cast, caplog):
    body = {**EXAMPLE, "deptId": cast.dept_b.pk, "statusId": 3, "staffId": cast.agent_b.pk}

    response = post("/api/tickets.json", body, key(can_create_tickets=True))

    ticket = Ticket.objects.get(number=text(response))
    assert ticket.department == cast.dept_a
    assert ticket.assignee is None and ticket.status.name == "Open"
    assert "unexpected data ignored: deptId, staffId, statusId" in caplog.text


def test_an_unknown_topic_is_ignored_and_a_known_one_applies(defaults, cast):
    topic = TopicFactory(department=cast.dept_b)
    secret = key(can_create_tickets=True)

    unknown = post("/api/tickets.json", {**EXAMPLE, "topicId": 99999}, secret)
    known = post("/api/tickets.json", {**EXAMPLE, "topicId": topic.pk}, secret)

    assert Ticket.objects.get(number=text(unknown)).department == cast.dept_a
    assert Ticket.objects.get(number=text(known)).department == cast.dept_b


def test_a_bad_attachment_is_skipped_not_fatal(defaults):
    body = {**EXAMPLE, "attachments": [{"bad.bin": "not a data url"}, {"ok.txt": "data:,fine"}]}

    response = post("/api/tickets.json", body, key(can_create_tickets=True))

    assert response.status_code == 201
    assert [a.filename for a in Attachment.objects.all()] == ["ok.txt"]


def test_a_base64_message_and_the_legacy_priority_id(defaults):
    body = {
        **EXAMPLE,
        "message": "data:text/plain;base64,SGVsbG8gd29ybGQ=",
        "priorityId": priority("High").pk,
    }
    del body["priority"]

    response = post("/api/tickets.json", body, key(can_create_tickets=True))

    ticket = Ticket.objects.get(number=text(response))
    assert ticket.thread.entries.get().body_text == "Hello world"
    assert ticket.priority.name == "High"


def test_an_existing_user_is_reused(defaults, cast):
    body = {**EXAMPLE, "email": "ALICE@acme.test", "name": ""}

    response = post("/api/tickets.json", body, key(can_create_tickets=True))

    assert Ticket.objects.get(number=text(response)).requester == cast.alice


def test_cron_runs_every_job_for_allowed_keys(db, nothing_written):
    from helpdesk import cron

    with mock.patch.dict(cron.JOBS, {"a": lambda: 1, "b": lambda: 2}, clear=True):
        secret = key(can_create_tickets=True)
        with nothing_written():
            refused = post("/api/tasks/cron", "", secret)
        done = post("/api/tasks/cron", "", key(can_exec_cron=True))

    assert (refused.status_code, text(refused)) == (401, "API key not authorized")
    assert (done.status_code, text(done)) == (200, "Completed")


def test_cron_reports_failing_jobs(db):
    from helpdesk import cron

    def boom():
        raise RuntimeError("down")

    with mock.patch.dict(cron.JOBS, {"ok": lambda: 1, "bad": boom}, clear=True):
        response = post("/api/tasks/cron", "", key(can_exec_cron=True))

    assert (response.status_code, text(response)) == (503, "Cron jobs failed: bad")


def _ingest_available() -> bool:
    try:
        from helpdesk.mail.inbound import ingest  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(
    not _ingest_available(),
    reason="helpdesk.mail.inbound.ingest (the email issue) is not there yet",
)
def test_email_piping_creates_a_ticket(defaults):
    raw = (
        b"From: Piped <piped@example.com>\r\nTo: support@example.com\r\n"
        b"Subject: Piped in\r\nMessage-ID: <p1@example.com>\r\n\r\nBody text\r\n"
    )

    response = post(
        "/api/tickets.email", raw, key(can_create_tickets=True), content_type="message/rfc822"
    )

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(number=text(response))
    assert ticket.subject == "Piped in"


def test_email_piping_with_a_stub_ingest(defaults, cast, monkeypatch):
    """The endpoint's mapping of IngestResult statuses, and of a database outage."""
    import types

    from helpdesk.api import osticket
    from helpdesk.mail.inbound import TemporaryFailure

    from ..factories import open_ticket

    ticket = open_ticket(cast.alice, department=cast.dept_a)
    results = iter(
        [
            types.SimpleNamespace(status="appended", ticket=ticket, reason=""),
            types.SimpleNamespace(status="rejected", ticket=None, reason="banned"),
            types.SimpleNamespace(status="parked", ticket=None, reason="no sender"),
            TemporaryFailure("database unavailable"),
        ]
    )

    def fake_ingest(raw, *, channel, api_key=None):
        result = next(results)
        if isinstance(result, Exception):
            raise result
        return result

    monkeypatch.setattr(osticket, "ingest", fake_ingest)
    secret = key(can_create_tickets=True, write_departments=[cast.dept_a])

    appended = post(
        "/api/tickets.email", b"Subject: x\r\n\r\ny", secret, content_type="message/rfc822"
    )
    rejected = post(
        "/api/tickets.email", b"Subject: x\r\n\r\ny", secret, content_type="message/rfc822"
    )
    parked = post(
        "/api/tickets.email", b"Subject: x\r\n\r\ny", secret, content_type="message/rfc822"
    )

    assert (appended.status_code, text(appended)) == (201, ticket.number)
    assert (rejected.status_code, text(rejected)) == (403, "Ticket denied: banned")
    assert (parked.status_code, text(parked)) == (400, "Unable to create new ticket: no sender")
    down = post("/api/tickets.email", b"Subject: x\r\n\r\ny", secret, content_type="message/rfc822")
    assert (down.status_code, down["Retry-After"]) == (503, "60")


def test_a_body_over_the_limit_is_a_413(defaults, settings, nothing_written):
    settings.HELPDESK_API = {**settings.HELPDESK_API, "MAX_BODY_BYTES": 50}

    secret = key(can_create_tickets=True)
    with nothing_written():
        response = post("/api/tickets.json", EXAMPLE, secret)

    assert (response.status_code, text(response)) == (413, "Request body too large")


def test_guessing_keys_is_throttled_per_address(defaults, settings, nothing_written):
    from rest_framework.throttling import SimpleRateThrottle

    old = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {"caller": "100/min", "anon": "2/min"}
    try:
        with nothing_written():
            codes = [post("/api/tickets.json", EXAMPLE, f"{i:032X}").status_code for i in range(3)]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = old

    assert codes == [401, 401, 429]


def test_a_key_scoped_to_billing_cannot_append_to_a_support_ticket_by_mail(defaults, cast):
    """The audit's finding: a reply-by-subject to a ticket outside the key's scope opens a
    new ticket instead of joining (and revealing) the other one."""
    from ..factories import open_ticket

    support = open_ticket(cast.alice, department=cast.dept_a, subject="Printer")
    secret = key(can_create_tickets=True, write_departments=[cast.dept_b])
    raw = (
        f"From: Alice <{cast.alice.email}>\r\nTo: help@example.test\r\n"
        f"Cc: evil@attacker.test\r\nSubject: Re: Printer [#{support.number}]\r\n"
        "Message-ID: <scoped-1@acme.test>\r\n\r\nAdd me please.\r\n"
    ).encode()
    response = post("/api/tickets.email", raw, secret, content_type="message/rfc822")
    assert response.status_code == 201 and text(response) != support.number
    assert support.thread.entries.count() == 1
    assert not support.thread.collaborators.exists()
