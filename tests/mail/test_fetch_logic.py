"""The fetch pass without a server: a fake fetcher strategy (picked by settings, as the
real ones are) records what happens on the server and when."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from helpdesk import cron
from helpdesk.mail import fetching
from helpdesk.mail.fetchers import Fetcher, FetchError, Pending
from helpdesk.mail.models import InboundMessage, Mailbox
from tickets.models import Ticket

from .conftest import corpus, message

SERVER: dict = {}

# written before sender authentication: every sender is taken at its word
pytestmark = pytest.mark.usefixtures("trust_mail")


class FakeFetcher(Fetcher):
    """Messages in SERVER["inbox"] ({uid: raw}); finishing removes them; every call is
    logged in SERVER["log"] with the number of tickets committed at that moment."""

    def connect(self):
        if SERVER.get("refuse"):
            raise FetchError("connection refused")
        SERVER["log"].append(("connect", Ticket.objects.count()))

    def pending(self, limit):
        return [Pending(uid, uid) for uid in list(SERVER["inbox"])[:limit]]

    def read(self, item):
        if "on_read" in SERVER:
            SERVER["on_read"](item)
        return SERVER["inbox"][item.ref]

    def finish(self, item):
        SERVER["log"].append(("finish", item.uid, Ticket.objects.count()))
        del SERVER["inbox"][item.ref]

    def close(self):
        SERVER["log"].append(("close",))


@pytest.fixture
def fake(settings, mailbox):
    settings.HELPDESK_MAIL = {
        **settings.HELPDESK_MAIL,
        "FETCHERS": {"imap": "tests.mail.test_fetch_logic.FakeFetcher"},
    }
    SERVER.clear()
    SERVER.update(inbox={}, log=[])
    return mailbox


def test_each_message_is_finished_on_the_server_only_after_its_ticket(fake):
    SERVER["inbox"].update(u1=corpus("plain.eml"), u2=message(message_id="<x2@acme.test>"))

    report = fetching.fetch_mailbox(fake)

    assert report.statuses == {"created": 2}
    assert SERVER["log"] == [("connect", 0), ("finish", "u1", 1), ("finish", "u2", 2), ("close",)]
    assert SERVER["inbox"] == {}


def test_max_per_fetch_leaves_the_rest_for_the_next_pass(fake):
    fake.max_per_fetch = 2
    fake.save()
    for n in range(3):
        SERVER["inbox"][f"u{n}"] = message(message_id=f"<n{n}@acme.test>", subject=f"S{n}")

    first = fetching.fetch_mailbox(fake)
    second = fetching.fetch_mailbox(fake)

    assert (first.fetched, second.fetched) == (2, 1)
    assert Ticket.objects.count() == 3


def test_a_message_imported_but_not_finished_is_only_finished_next_time(fake):
    SERVER["inbox"]["u1"] = corpus("plain.eml")
    InboundMessage.objects.create(
        source="mailbox",
        source_key=f"mailbox:{fake.pk}",
        mailbox=fake,
        server_uid="u1",
        sha256="0" * 64,
        raw=b"",
        size=0,
        status="created",
    )

    report = fetching.fetch_mailbox(fake)

    assert (report.fetched, report.finished) == (0, 1)
    assert not Ticket.objects.exists() and SERVER["inbox"] == {}


def test_a_held_lease_skips_the_mailbox(fake):
    Mailbox.objects.filter(pk=fake.pk).update(
        lock_token="other", locked_until=timezone.now() + dt.timedelta(minutes=5)
    )
    SERVER["inbox"]["u1"] = corpus("plain.eml")

    report = fetching.fetch_mailbox(fake)

    assert report.skipped == "locked: another fetcher is running"
    assert SERVER["log"] == [] and not Ticket.objects.exists()


def test_the_lease_is_one_fetch_interval_renewed_before_each_message(fake):
    """A crashed fetcher frees its mailbox by the time the mailbox is due again; a long
    batch keeps it by renewing the lease as it goes."""
    SERVER["inbox"].update(u1=corpus("plain.eml"), u2=message(message_id="<x2@acme.test>"))
    start = timezone.now()
    leases = []

    with time_machine.travel(start, tick=False) as clock:

        def on_read(item):
            leases.append(Mailbox.objects.get(pk=fake.pk).locked_until)
            clock.shift(dt.timedelta(minutes=3))  # each message takes three minutes

        SERVER["on_read"] = on_read
        report = fetching.fetch_mailbox(fake)

    assert fake.fetch_interval_minutes == 5
    assert report.statuses == {"created": 2}
    assert leases == [start + dt.timedelta(minutes=5), start + dt.timedelta(minutes=8)]
    fake.refresh_from_db()
    assert (fake.locked_until, fake.lock_token) == (None, "")


def test_a_fetcher_whose_lease_was_taken_over_stops_its_batch(fake):
    SERVER["inbox"].update(u1=corpus("plain.eml"), u2=message(message_id="<x2@acme.test>"))

    def taken_over(item):  # this fetcher stalled; another one took the expired lease
        Mailbox.objects.filter(pk=fake.pk).update(lock_token="other")

    SERVER["on_read"] = taken_over
    report = fetching.fetch_mailbox(fake)

    assert report.skipped == "Support: another fetcher took the mailbox over"
    assert (report.fetched, report.finished, report.statuses) == (1, 1, {"created": 1})
    assert list(SERVER["inbox"]) == ["u2"]  # left for the fetcher that holds the lease
    fake.refresh_from_db()
    assert fake.lock_token == "other"  # not released by the one that lost it


def test_errors_are_counted_and_back_off(fake):
    SERVER["refuse"] = True
    for _ in range(5):
        fetching.fetch_mailbox(fake)
    fake.refresh_from_db()
    assert (fake.error_count, fake.last_error) == (5, "connection refused")
    assert fake.locked_until is None

    now = fake.last_fetch_at + dt.timedelta(minutes=6)
    assert not fetching._due(fake, now)  # interval 5 min, but backing off for 10
    assert fetching._due(fake, fake.last_fetch_at + dt.timedelta(minutes=10))

    SERVER["refuse"] = False
    fetching.fetch_mailbox(fake)
    fake.refresh_from_db()
    assert fake.error_count == 0


def test_the_cron_job_fetches_due_mailboxes_only(fake):
    SERVER["inbox"]["u1"] = corpus("plain.eml")
    Mailbox.objects.filter(pk=fake.pk).update(last_fetch_at=timezone.now())

    assert cron.JOBS["fetch_mail"]() == 0
    Mailbox.objects.filter(pk=fake.pk).update(
        last_fetch_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert cron.JOBS["fetch_mail"]() == 1
    assert Ticket.objects.count() == 1


def test_a_disabled_mailbox_is_not_fetched(fake):
    fake.is_active = False
    fake.save()
    SERVER["inbox"]["u1"] = corpus("plain.eml")

    assert fetching.fetch_due(force=True) == []
