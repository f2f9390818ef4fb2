"""Against a real Dovecot (IMAP and POP3) and a real SMTP server (aiosmtpd): fetch,
thread a reply, archive only after commit, kill and rerun without duplicates."""

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from helpdesk.mail import fetchers
from helpdesk.mail.fetching import fetch_due, fetch_mailbox
from helpdesk.mail.models import InboundMessage, Mailbox, OutboundMessage
from helpdesk.outbox.services import outbox_drain
from threads.models import ThreadEntry
from tickets import services
from tickets.models import Ticket

from .conftest import corpus, message

# written before sender authentication: every sender is taken at its word
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("trust_mail"),
]


@pytest.fixture
def imap_box(mailbox, dovecot):
    mailbox.port = dovecot.imap_port
    mailbox.after_import = Mailbox.AfterImport.MOVE
    mailbox.archive_folder = "Archive"
    mailbox.save()
    return mailbox


def subjects(dovecot, folder):
    from email import message_from_bytes

    return sorted(str(message_from_bytes(raw)["Subject"]) for raw, _ in dovecot.folder(folder))


def test_fetch_imports_new_mail_and_archives_it_after_commit(imap_box, dovecot, smtp):
    dovecot.deliver(corpus("plain.eml"))
    dovecot.deliver(corpus("inline_image.eml"))
    dovecot.deliver(corpus("no_from.eml"))

    report = fetch_mailbox(imap_box)

    assert (report.fetched, report.finished, report.error) == (3, 3, "")
    assert report.statuses == {"created": 2, "parked": 1}
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Printer on fire",
        "Screenshot of the error",
    ]
    assert dovecot.folder("INBOX") == []
    assert subjects(dovecot, "Archive") == [
        "Printer on fire",
        "Screenshot of the error",
        "Who sent this?",
    ]
    uids = set(InboundMessage.objects.values_list("server_uid", flat=True))
    assert len(uids) == 3 and all(":" in uid for uid in uids)
    # the autoresponse went out through the real SMTP server, threaded
    autoresp = [m for m in smtp.messages if m["to"] == ["alice@acme.test"]]
    assert len(autoresp) == 2
    first = next(m["message"] for m in autoresp if "Printer" in m["message"]["Subject"])
    assert first["In-Reply-To"] == "<plain-1@acme.test>"
    assert first["Message-ID"].startswith("<hd.")
    assert first["Auto-Submitted"] == "auto-replied"


def test_a_reply_fetched_later_threads_to_the_ticket_and_the_response_reaches_the_client(
    imap_box, dovecot, smtp
):
    dovecot.deliver(corpus("plain.eml"))
    fetch_mailbox(imap_box)
    ticket = Ticket.objects.get()
    services.ticket_post_reply(
        actor=imap_box.department.primary_agents.first(), ticket=ticket, body="Toner replaced."
    )
    response = next(
        m["message"] for m in smtp.messages if m["message"]["Subject"].startswith("Re:")
    )
    assert response["To"] == "alice@acme.test"
    assert (
        response["References"]
        == "<plain-1@acme.test> "
        + OutboundMessage.objects.filter(template="ticket.autoresp")
        .values_list("message_id", flat=True)
        .get()
    )
    reply = message(
        subject="Re: Re: Printer on fire",
        message_id="<answer-1@acme.test>",
        body="It works, thanks!\n\n-- reply above this line --\nToner replaced.",
        headers={"In-Reply-To": response["Message-ID"], "References": response["References"]},
    )
    dovecot.deliver(reply)
    OutboundMessage.objects.filter(status="queued").update(status="sent")

    fetch_mailbox(imap_box)

    assert Ticket.objects.count() == 1
    entry = ticket.thread.entries.last()
    assert (entry.kind, entry.body_text) == (ThreadEntry.Kind.MESSAGE, "It works, thanks!")


def test_mark_seen_leaves_messages_and_a_second_pass_imports_nothing(imap_box, dovecot):
    imap_box.after_import = Mailbox.AfterImport.MARK_SEEN
    imap_box.save()
    dovecot.deliver(corpus("plain.eml"))

    fetch_mailbox(imap_box)
    again = fetch_mailbox(imap_box)

    [(_raw, flags)] = dovecot.folder("INBOX")
    assert "\\Seen" in flags
    assert (again.fetched, again.statuses) == (0, {})
    assert Ticket.objects.count() == 1


def test_a_crash_after_commit_before_the_move_imports_once_on_the_rerun(
    imap_box, dovecot, monkeypatch
):
    for n in range(3):
        dovecot.deliver(message(subject=f"Problem {n}", message_id=f"<crash-{n}@acme.test>"))
    real_finish = fetchers.ImapFetcher.finish
    calls = []

    def dies_on_the_second(self, item):
        calls.append(item.uid)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed between the commit and the move")
        real_finish(self, item)

    monkeypatch.setattr(fetchers.ImapFetcher, "finish", dies_on_the_second)
    # a killed process never releases its lease: simulate that too
    monkeypatch.setattr("helpdesk.mail.fetching._release", lambda *a, **k: None)
    with pytest.raises(KeyboardInterrupt):
        fetch_mailbox(imap_box)
    assert Ticket.objects.count() == 2  # the second was committed, not moved
    assert len(dovecot.folder("INBOX")) == 2
    monkeypatch.undo()

    skipped = fetch_mailbox(imap_box)  # the dead fetcher's lease still holds
    assert skipped.skipped == "locked: another fetcher is running"
    Mailbox.objects.filter(pk=imap_box.pk).update(locked_until=None)
    rerun = fetch_mailbox(imap_box)

    assert (rerun.fetched, rerun.finished, rerun.statuses) == (1, 2, {"created": 1})
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Problem 0",
        "Problem 1",
        "Problem 2",
    ]
    assert dovecot.folder("INBOX") == []
    assert len(dovecot.folder("Archive")) == 3


def test_delete_after_import(imap_box, dovecot):
    imap_box.after_import = Mailbox.AfterImport.DELETE
    imap_box.save()
    dovecot.deliver(corpus("plain.eml"))

    fetch_mailbox(imap_box)

    assert dovecot.folder("INBOX") == [] and dovecot.folder("Archive") == []
    assert Ticket.objects.count() == 1


def test_wrong_credentials_are_recorded_on_the_mailbox(imap_box, dovecot):
    imap_box.password = "wrong"
    imap_box.save()
    dovecot.deliver(corpus("plain.eml"))

    report = fetch_mailbox(imap_box)

    imap_box.refresh_from_db()
    assert report.error.startswith(f"IMAP 127.0.0.1:{dovecot.imap_port}: ")
    assert "AUTHENTICATIONFAILED" in report.error
    assert (imap_box.error_count, imap_box.last_error) == (1, report.error)
    assert imap_box.locked_until is None
    assert not Ticket.objects.exists() and len(dovecot.folder("INBOX")) == 1


def test_pop3_fetch_deletes_after_import(mailbox, dovecot):
    mailbox.protocol, mailbox.port = Mailbox.Protocol.POP3, dovecot.pop3_port
    mailbox.after_import = Mailbox.AfterImport.DELETE
    mailbox.save()
    dovecot.deliver(corpus("plain.eml"))
    dovecot.deliver(corpus("rfc2047.eml"))

    report = fetch_mailbox(mailbox)

    assert report.statuses == {"created": 2}
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Printer on fire",
        "Prüfung der Rechnung € 100",
    ]
    assert dovecot.folder("INBOX") == []


def test_pop3_leave_on_server_remembers_what_it_imported(mailbox, dovecot):
    mailbox.protocol, mailbox.port = Mailbox.Protocol.POP3, dovecot.pop3_port
    mailbox.after_import = Mailbox.AfterImport.MARK_SEEN
    mailbox.save()
    dovecot.deliver(corpus("plain.eml"))

    fetch_mailbox(mailbox)
    dovecot.deliver(corpus("rfc2047.eml"))
    second = fetch_mailbox(mailbox)

    assert (second.fetched, second.statuses) == (1, {"created": 1})
    assert Ticket.objects.count() == 2
    assert len(dovecot.folder("INBOX")) == 2


def test_fetch_mail_command_runs_one_pass(imap_box, dovecot):
    from io import StringIO

    dovecot.deliver(corpus("plain.eml"))
    out = StringIO()

    call_command("fetch_mail", stdout=out)

    assert out.getvalue() == "Support: created 1\n"


@pytest.mark.postgres
def test_two_fetchers_at_once_import_each_message_once(imap_box, dovecot):
    for n in range(6):
        dovecot.deliver(message(subject=f"Race {n}", message_id=f"<race-{n}@acme.test>"))
    barrier = threading.Barrier(2)
    reports = []

    def one():
        try:
            barrier.wait(timeout=10)
            reports.append(fetch_mailbox(Mailbox.objects.get(pk=imap_box.pk)))
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert Ticket.objects.count() == 6
    assert InboundMessage.objects.count() == 6
    assert (
        sorted(r.fetched for r in reports) in ([0, 6], [6, 6])
        or sum(r.statuses.get("created", 0) for r in reports) == 6
    )
    assert dovecot.folder("INBOX") == []


KILLER = textwrap.dedent(
    """
    import os, signal, django
    django.setup()
    from helpdesk.mail import fetchers
    real = fetchers.ImapFetcher.finish
    done = []
    def finish(self, item):
        if len(done) == 1:  # the second message is committed: die before moving it
            os.kill(os.getpid(), signal.SIGKILL)
        done.append(item)
        real(self, item)
    fetchers.ImapFetcher.finish = finish
    from django.core.management import call_command
    call_command("fetch_mail")
    """
)


@pytest.mark.postgres
def test_a_fetcher_killed_with_sigkill_loses_nothing_and_duplicates_nothing(imap_box, dovecot):
    for n in range(3):
        dovecot.deliver(message(subject=f"Kill {n}", message_id=f"<kill-{n}@acme.test>"))
    db = connection.settings_dict
    auth = f"{db['USER']}:{db['PASSWORD']}" if db.get("PASSWORD") else db["USER"]
    url = f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("REDIS_URL", None)

    proc = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", KILLER],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        timeout=120,
    )

    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert Ticket.objects.count() == 2
    # The dead fetcher's lease ends within one fetch interval, not after 15 minutes:
    # by the time the mailbox is due again, the next pass takes it.
    imap_box.refresh_from_db()
    interval = dt.timedelta(minutes=imap_box.fetch_interval_minutes)
    assert timezone.now() < imap_box.locked_until <= timezone.now() + interval
    assert fetch_mailbox(imap_box).skipped == "locked: another fetcher is running"
    with time_machine.travel(imap_box.locked_until + dt.timedelta(seconds=1)):
        [rerun] = fetch_due()
    assert rerun.statuses == {"created": 1}
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Kill 0",
        "Kill 1",
        "Kill 2",
    ]
    assert dovecot.folder("INBOX") == []
    assert len(dovecot.folder("Archive")) == 3


def test_a_message_read_by_a_person_is_still_imported_when_mail_is_moved(imap_box, dovecot):
    dovecot.deliver(corpus("plain.eml"))
    conn = dovecot.imap()
    conn.select("INBOX")
    conn.store("1", "+FLAGS", r"(\Seen)")  # someone opened it in a mail client
    conn.logout()

    report = fetch_mailbox(imap_box)

    assert report.statuses == {"created": 1}
    assert dovecot.folder("INBOX") == [] and len(dovecot.folder("Archive")) == 1


def test_a_relay_that_is_down_is_retried_then_noted_on_the_ticket(helpdesk, settings):
    from .servers import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    settings.EMAIL_TIMEOUT = 5
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "SEND_MAX_RETRIES": 2}
    ticket = services.ticket_open(
        actor=helpdesk.alice,
        new=services.NewTicket(requester=helpdesk.alice, subject="Hello", body="Anyone?"),
    )

    services.ticket_post_reply(actor=helpdesk.agent_a, ticket=ticket, body="Yes.")
    outbox_drain(now=timezone.now() + dt.timedelta(hours=2))  # the retries, later on

    row = OutboundMessage.objects.get(template="ticket.reply")
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.error.startswith("ConnectionRefusedError: ")
    notes = ticket.thread.entries.filter(kind=ThreadEntry.Kind.NOTE, is_system=True)
    assert sorted(OutboundMessage.objects.values_list("template", "status")) == [
        ("ticket.alert", "failed"),
        ("ticket.alert", "failed"),
        ("ticket.alert", "failed"),
        ("ticket.autoresp", "failed"),
        ("ticket.reply", "failed"),
    ]
    assert notes.count() == 5 and {n.title for n in notes} == {"Mail not sent"}
    assert notes.filter(
        body__contains="(ticket.reply) to alice@acme.test could not be sent after 2 attempts"
    ).exists()
