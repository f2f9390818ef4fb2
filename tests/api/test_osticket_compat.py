"""/api/tickets.json and /api/tickets.xml behave as osTicket does where integrations
notice, replayed as osTicket's documented requests and sample client send them
(tests/osticket_clients.py; setup/doc/api/tickets.md for the fields and the XML shape):

- message text in data: URLs and XML bodies is stored as sent (no percent-decoding),
  except where base64 is declared;
- lenient where osTicket is, with a warning in the log: a non-numeric or unknown
  topicId or priority and an invalid ip are ignored; a file over the size limit is
  dropped with a system note on the ticket, which is created;
- ticket numbers read as integers (the sample client casts them).
"""

import base64
import logging

import pytest

from accounts.actors import SYSTEM
from accounts.apikeys import api_key_create
from threads.models import Attachment
from tickets import numbers
from tickets.models import HelpdeskSettings, Ticket

from ..factories import TopicFactory, priority
from ..osticket_clients import sample_client, xml_client

GIF = base64.b64decode("R0lGODdhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=")


@pytest.fixture
def key(cast):
    config = HelpdeskSettings.load()
    config.default_department = cast.dept_a
    config.save()
    # as the README makes one: no department, so the whole helpdesk
    return api_key_create(
        actor=SYSTEM, name="osticket", allowed_ips=["127.0.0.1"], can_create_tickets=True
    )[1]


def request(**fields) -> dict:
    return {
        "alert": True,
        "autorespond": True,
        "source": "API",
        "name": "Jane Roe",
        "email": "jane@example.net",
        "subject": "Printer jam",
        "message": "The printer is jammed.",
        "ip": "10.0.0.7",
        **fields,
    }


def created(response) -> Ticket:
    assert response.status_code == 201, response.content
    return Ticket.objects.get(number=response.content.decode())


def entry(ticket: Ticket):
    return ticket.thread.entries.get(kind="message")


# --- text as sent --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "fmt", "stored"),
    [
        ("data:text/plain,50%25 off%20today %41", "text", "50%25 off%20today %41"),
        ("data:,100%20sure", "text", "100%20sure"),
        ("data:text/plain;charset=utf-8,caf%C3%A9", "text", "caf%C3%A9"),
        ("data:text/html,<p>100%20sure %41</p>", "html", "<p>100%20sure %41</p>"),
        ("plain 100%20sure", "text", "plain 100%20sure"),
        # declared base64: decoded, and what it holds is kept as it is
        (
            "data:text/plain;charset=utf-8;base64,"
            + base64.b64encode("café 100%20".encode()).decode(),
            "text",
            "café 100%20",
        ),
    ],
)
def test_json_message_text_is_stored_as_sent(key, message, fmt, stored):
    ticket = created(sample_client(request(message=message), key))

    body = entry(ticket)
    assert body.format == fmt
    assert (body.body_html if fmt == "html" else body.body_text) == stored


def test_a_json_attachment_without_base64_is_stored_as_sent(key):
    files = [{"notes.txt": "data:text/plain;charset=utf-8,a%20b %41"}]

    ticket = created(sample_client(request(attachments=files), key))

    att = Attachment.objects.get(entry__thread=ticket.thread)
    assert (att.filename, att.file.file.read()) == ("notes.txt", b"a%20b %41")


def test_the_documented_xml_request_with_its_text_as_sent(key):
    """The shape of osTicket's XML example: fields as attributes and elements, the
    phone's extension as an attribute, a CDATA message, a file as text (trimmed) and a
    base64 one."""
    gif = base64.b64encode(GIF).decode()
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<ticket alert="true" autorespond="true" source="API">
    <name>Jane Roe</name>
    <email>jane@example.net</email>
    <subject>Printer jam</subject>
    <phone ext="123">318-555-0100</phone>
    <message type="text/html"><![CDATA[<p>Toner at 5%20 and %41</p>]]></message>
    <attachments>
        <file name="file.txt" type="text/plain"><![CDATA[
            a%20b %41
        ]]></file>
        <file name="image.gif" type="image/gif" encoding="base64">
            {gif[:20]}
            {gif[20:]}
        </file>
    </attachments>
    <ip>10.0.0.7</ip>
</ticket>""".encode()

    ticket = created(xml_client(xml, key))

    body = entry(ticket)
    assert body.format == "html" and body.body_html == "<p>Toner at 5%20 and %41</p>"
    assert ticket.ip_address == "10.0.0.7"
    files = {a.filename: a.file.file.read() for a in Attachment.objects.all()}
    assert files == {"file.txt": b"a%20b %41", "image.gif": GIF}


def test_an_xml_plain_message_is_stored_as_sent(key):
    xml = b"""<ticket name="Jane Roe" email="jane@example.net" subject="Printer jam">
<message>Toner at 5%20 and %41</message></ticket>"""

    ticket = created(xml_client(xml, key))

    assert entry(ticket).body_text == "Toner at 5%20 and %41"


# --- lenient, with a warning -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "warning"),
    [
        ({"topicId": "abc"}, "API: topicId 'abc' ignored (not a numeric id)"),
        ({"topicId": 99999}, "API: topicId 99999 ignored (no active help topic has it)"),
        ({"priority": "urgent"}, "API: priority 'urgent' ignored (not a numeric id)"),
        ({"priority": 99999}, "API: priority 99999 ignored (no priority has it)"),
        ({"priorityId": "2x"}, "API: priorityId '2x' ignored (not a numeric id)"),
        ({"ip": "not-an-ip"}, "API: ip 'not-an-ip' ignored (not an IP address)"),
        ({"ip": "999.1.1.1"}, "API: ip '999.1.1.1' ignored (not an IP address)"),
    ],
)
def test_what_osticket_ignores_is_ignored_with_a_warning(key, cast, caplog, fields, warning):
    with caplog.at_level(logging.WARNING, logger="helpdesk.api.osticket"):
        ticket = created(sample_client(request(**fields), key))

    assert warning in caplog.messages
    assert ticket.department == cast.dept_a and ticket.topic is None
    assert ticket.priority == HelpdeskSettings.load().default_priority
    if "ip" in fields:
        assert ticket.ip_address == "127.0.0.1"  # the caller's, as without the field


def test_an_inactive_topic_is_ignored_and_an_active_one_applies(key, cast, caplog):
    inactive = TopicFactory(department=cast.dept_b, is_active=False)
    active = TopicFactory(department=cast.dept_b)

    with caplog.at_level(logging.WARNING, logger="helpdesk.api.osticket"):
        ignored = created(sample_client(request(topicId=inactive.pk), key))
    applied = created(sample_client(request(topicId=str(active.pk), priority=3), key))

    assert ignored.department == cast.dept_a
    assert f"API: topicId {inactive.pk} ignored (no active help topic has it)" in caplog.messages
    assert (applied.topic, applied.department) == (active, cast.dept_b)
    assert applied.priority == priority("High")


def test_a_file_over_the_limit_is_dropped_with_a_note_and_the_ticket_created(key, settings, caplog):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_ATTACHMENT_BYTES": 1000}
    big = base64.b64encode(b"x" * 1500).decode()
    files = [
        {"big.bin": f"data:application/octet-stream;base64,{big}"},
        {"small.txt": "data:text/plain,fits"},
        {"broken.txt": "data:text/plain;base64,@@@"},
    ]

    with caplog.at_level(logging.WARNING, logger="helpdesk.api.osticket"):
        ticket = created(sample_client(request(attachments=files), key))

    assert [a.filename for a in Attachment.objects.filter(entry__thread=ticket.thread)] == [
        "small.txt"
    ]
    note = ticket.thread.entries.get(kind="note")
    assert (note.title, note.is_system) == ("Attachments not imported", True)
    assert note.body_text == (
        "Left out of the API request that opened this ticket:\n"
        "- big.bin (1,500 bytes): over the size limit of 1,000 bytes\n"
        "- broken.txt: not a valid data URL"
    )
    assert "API: attachment dropped: big.bin (1,500 bytes): over the size limit of 1,000 bytes" in (
        caplog.messages
    )


# --- numbers ---------------------------------------------------------------------------


def test_a_ticket_number_never_starts_with_0_even_when_every_draw_is_0(key, monkeypatch):
    """The worst draw the generator can make: before the fix it gave 000000, which the
    sample client's (int) cast reads as 0."""
    monkeypatch.setattr(numbers.secrets, "randbelow", lambda n: 0)

    ticket = created(sample_client(request(), key))

    assert ticket.number == "100000"
    assert str(int(ticket.number)) == ticket.number
