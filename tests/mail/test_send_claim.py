"""Sending a stored mail claims it first (queued -> sending, with a lease): two runs for
the same mail (the outbox's, and a broker message from before the outbox that is still
queued) send it once."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from helpdesk.mail import outbound
from helpdesk.mail.models import OutboundMessage
from helpdesk.mail.tasks import send_outbound_task
from helpdesk.outbox.models import OutboxTask
from helpdesk.outbox.services import RetryLater, outbox_run
from tickets import services

from ..factories import open_ticket

pytestmark = pytest.mark.usefixtures("trust_mail")


@pytest.fixture
def queued(helpdesk, django_capture_on_commit_callbacks):
    """A reply's mail, stored and waiting to be sent (its after-commit work not run)."""
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(helpdesk.alice, department=helpdesk.dept_a)
    services.ticket_post_reply(actor=helpdesk.agent_a, ticket=ticket, body="On it.")
    for notify in OutboxTask.objects.filter(task="helpdesk.mail.tasks.notify_task"):
        assert outbox_run(notify.pk) == "done"  # the mail is stored, its sending not run
    mail.outbox.clear()
    row = OutboundMessage.objects.get(template="ticket.reply")
    assert (row.status, row.attempts) == ("queued", 0)
    return row


def test_a_second_run_while_the_first_is_sending_sends_nothing(
    queued, monkeypatch, nothing_written
):
    real_deliver, second = outbound.deliver, []

    def deliver(row):
        if not second:  # another worker starts on the same mail meanwhile
            second.append("started")
            second.append(send_outbound_task(row.pk))
        real_deliver(row)

    monkeypatch.setattr(outbound, "deliver", deliver)

    assert send_outbound_task(queued.pk) == "sent"

    assert second == ["started", None]
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.claimed_until) == ("sent", 1, None)
    with nothing_written():
        assert send_outbound_task(queued.pk) is None  # and after it: sent already
    assert len(mail.outbox) == 1


def test_a_mail_whose_sender_died_is_sent_once_its_lease_ends(queued, nothing_written):
    now = timezone.now()
    OutboundMessage.objects.filter(pk=queued.pk).update(
        status="sending", claimed_until=now + dt.timedelta(minutes=1)
    )
    with nothing_written():
        assert send_outbound_task(queued.pk) is None  # its sender may still be sending
    assert mail.outbox == []

    OutboundMessage.objects.filter(pk=queued.pk).update(claimed_until=now - dt.timedelta(seconds=1))
    assert send_outbound_task(queued.pk) == "sent"
    assert len(mail.outbox) == 1
    queued.refresh_from_db()
    assert (queued.status, queued.claimed_until) == ("sent", None)


def test_a_failed_try_frees_the_mail_for_the_next_one(queued, settings):
    settings.EMAIL_BACKEND = "tests.mail.failing_backend.EmailBackend"

    with pytest.raises(RetryLater, match=r"mail [0-9]+: the relay hung up"):
        send_outbound_task(queued.pk)

    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.claimed_until) == ("queued", 1, None)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_outbound_task(queued.pk) == "sent"
    assert len(mail.outbox) == 1
