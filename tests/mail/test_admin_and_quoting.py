"""The mail admin (credentials write-only, parked messages) and quote stripping."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.errors import PermissionRefused
from helpdesk.cron import run_job
from helpdesk.mail.fetchers import Fetcher
from helpdesk.mail.inbound import ingest
from helpdesk.mail.models import EmailTemplate, Mailbox
from helpdesk.mail.quoting import strip_quoted
from helpdesk.mail.services import mailboxes_queue_fetch
from helpdesk.outbox.models import OutboxTask

from ..redis_process import celery_broker
from .conftest import corpus

SEP = "-- reply above this line --"

# written before sender authentication: every sender is taken at its word
pytestmark = pytest.mark.usefixtures("trust_mail")


def test_the_mailbox_page_never_shows_the_password(client, mailbox, helpdesk):
    mailbox.password = "s3cr3t-Pa55"
    mailbox.save()
    client.force_login(helpdesk.admin)

    page = client.get(reverse("admin:helpdesk_mail_mailbox_change", args=[mailbox.pk]))

    assert page.status_code == 200
    assert "s3cr3t-Pa55" not in page.content.decode()
    assert "•••••••• (11 characters)" in page.content.decode()


def test_saving_a_mailbox_with_an_empty_password_keeps_the_old_one(client, mailbox, helpdesk):
    client.force_login(helpdesk.admin)
    url = reverse("admin:helpdesk_mail_mailbox_change", args=[mailbox.pk])
    form = {
        "name": "Support",
        "address": "support@helpdesk.test",
        "department": helpdesk.dept_a.pk,
        "protocol": "imap",
        "host": "imap.example.test",
        "security": "ssl",
        "username": "support",
        "password": "",
        "folder": "INBOX",
        "archive_folder": "Archive",
        "after_import": "move",
        "max_per_fetch": 30,
        "fetch_interval_minutes": 5,
        "is_active": "on",
    }

    response = client.post(url, form)

    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.host, mailbox.password) == ("imap.example.test", "secret")


def test_pop3_cannot_move_to_a_folder(client, mailbox, helpdesk):
    mailbox.protocol, mailbox.after_import = Mailbox.Protocol.POP3, Mailbox.AfterImport.MOVE
    with pytest.raises(ValidationError, match="POP3 has no folders"):
        mailbox.full_clean()


def test_parked_messages_are_listed_with_the_raw_message_to_download(client, helpdesk):
    result = ingest(corpus("no_from.eml"), channel="email")
    client.force_login(helpdesk.admin)

    listing = client.get(
        reverse("admin:helpdesk_mail_inboundmessage_changelist") + "?status=parked"
    )
    raw = client.get(reverse("admin:helpdesk_mail_inbound_raw", args=[result.inbound_id]))

    assert "The message has no valid sender address (From)." in listing.content.decode()
    assert raw["Content-Type"] == "message/rfc822"
    assert raw.content == corpus("no_from.eml")


def test_the_template_set_is_seeded_and_a_broken_template_is_refused(db, nothing_written):
    assert EmailTemplate.objects.count() == 18  # 12 for tickets, 6 for tasks
    template = EmailTemplate.objects.get(code="ticket.reply")
    template.body_html = "<p>{% if %}</p>"

    with nothing_written(), pytest.raises(ValidationError, match="Template error"):
        template.full_clean()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (f"Yes, thanks.\n\n{SEP}\nOld mail", "Yes, thanks."),
        ("Fixed.\n\nOn Tue, 3 Mar 2026, Support <s@x.test> wrote:\n> old", "Fixed."),
        ("Fixed.\n\nOn Tue, 3 Mar 2026 at 10:00, Support Team\n<s@x.test> wrote:\n> old", "Fixed."),
        ("Merci.\n\nLe mar. 3 mars 2026, Support a écrit :\n> old", "Merci."),
        ("Danke.\n\nAm 3. März 2026 schrieb Support <s@x.test>:\n> old", "Danke."),
        ("OK.\n\n-----Original Message-----\nFrom: Support", "OK."),
        ("OK.\n\nFrom: Support <s@x.test>\nSent: Tuesday\nTo: me\nSubject: x\n\nold", "OK."),
        ("Nothing quoted here.", "Nothing quoted here."),
        ("> only a quote?\nOn Mon, X wrote:", "> only a quote?"),
    ],
)
def test_quoted_history_is_cut_from_text(body, expected):
    assert strip_quoted(body, "text", SEP) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('<p>New</p><blockquote type="cite">old</blockquote>', "<p>New</p>"),
        ('<div>New</div><div id="divRplyFwdMsg">From: x</div>', "<div>New</div>"),
        ('<p>New</p><div class="moz-cite-prefix">On x wrote:</div>', "<p>New</p>"),
        (f"<p>New</p><div>{SEP}</div><p>old</p>", "<p>New</p><div>"),
        ("<p>New</p><p>On Mon, 2 Mar 2026, Support wrote:</p><p>old</p>", "<p>New</p><p>"),
    ],
)
def test_quoted_history_is_cut_from_html(body, expected):
    assert strip_quoted(body, "html", SEP) == expected


class RecordingFetcher(Fetcher):
    """A mailbox with nothing new; records that a server was talked to."""

    connections: list[str] = []

    def connect(self):
        RecordingFetcher.connections.append(self.mailbox.name)

    def pending(self, limit):
        return []

    def close(self):
        pass


def test_fetch_now_queues_a_fetch_and_talks_to_no_server_in_the_request(
    client, mailbox, helpdesk, settings
):
    settings.HELPDESK_MAIL = {
        **settings.HELPDESK_MAIL,
        "FETCHERS": {"imap": f"{__name__}.RecordingFetcher"},
    }
    RecordingFetcher.connections = []
    client.force_login(helpdesk.admin)

    response = client.post(
        reverse("admin:helpdesk_mail_mailbox_changelist"),
        {"action": "fetch_now", "_selected_action": [mailbox.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == ["Fetch queued for 1 mailbox(es)."]
    assert RecordingFetcher.connections == []  # nobody talked to the server
    [row] = OutboxTask.objects.all()
    assert (row.task, row.args, row.state) == (
        "helpdesk.mail.tasks.fetch_mailbox_task",
        [mailbox.pk],
        "pending",
    )
    with celery_broker("memory://"):  # the periodic job (or a worker) fetches
        assert run_job("outbox_drain") == 1
    assert RecordingFetcher.connections == ["Support"]
    mailbox.refresh_from_db()
    assert mailbox.last_fetch_at is not None and mailbox.last_error == ""
    assert not OutboxTask.objects.exists()


def test_only_helpdesk_admins_queue_fetches(mailbox, helpdesk, nothing_written):
    with nothing_written(), pytest.raises(PermissionRefused) as refusal:
        mailboxes_queue_fetch(actor=helpdesk.agent_a, mailbox_ids=[mailbox.pk])
    assert refusal.value.code == "permission_denied"
    assert not OutboxTask.objects.exists()
