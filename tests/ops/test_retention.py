"""The purge_retention job: each kind is purged only past its configured age, in
batches, never what is still in use (mail waiting to go, a delivery to retry, a parked
message's bytes)."""

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk import cron
from helpdesk.api.idempotency import purge as purge_idempotency
from helpdesk.api.models import IdempotencyRecord
from helpdesk.mail.models import InboundMessage, OutboundMessage
from helpdesk.ops import retention
from helpdesk.ops.models import JobRun, RetentionSettings
from helpdesk.portal.models import AccessLink, EmailVerification, Invitation
from helpdesk.webhooks.models import Delivery, Subscription
from tests.factories import open_ticket

NOW = timezone.now()
seq = itertools.count()


def ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def inbound(days: float, status=InboundMessage.Status.CREATED) -> InboundMessage:
    n = next(seq)
    row = InboundMessage.objects.create(
        source="pipe",
        source_key="pipe",
        sha256=f"{n:064d}",
        raw=b"From: a@b\r\n\r\nhi",
        size=15,
        status=status,
        message_id=f"<{n}@x>",
    )
    InboundMessage.objects.filter(pk=row.pk).update(received_at=ago(days))
    return row


def outbound(days: float, status=OutboundMessage.Status.SENT) -> OutboundMessage:
    n = next(seq)
    row = OutboundMessage.objects.create(
        message_id=f"<out{n}@x>",
        template="t",
        dedupe_key=f"k{n}",
        recipient="a@b.test",
        from_email="s@x",
        subject="s",
        body_text="b",
        status=status,
    )
    OutboundMessage.objects.filter(pk=row.pk).update(created_at=ago(days))
    return row


def delivery(days: float, status=Delivery.Status.SUCCEEDED) -> Delivery:
    sub = Subscription.objects.first() or Subscription.objects.create(
        name="hook", url="http://hooks.example/x", events=["*"]
    )
    return Delivery.objects.create(
        subscription=sub,
        event="ticket.created",
        payload={},
        status=status,
        next_attempt_at=ago(days),
        created_at=ago(days),
    )


def left(model) -> list[int]:
    return sorted(model.objects.values_list("pk", flat=True))


def test_raw_inbound_mail_is_erased_past_its_age_and_the_rows_stay(db):
    old, recent = inbound(91), inbound(89)
    parked = inbound(200, InboundMessage.Status.PARKED)
    waiting = inbound(200, InboundMessage.Status.RECEIVED)

    assert retention.purge_all()["inbound_raw"] == 1

    raw = dict(InboundMessage.objects.values_list("pk", "raw"))
    assert bytes(raw[old.pk]) == b""
    assert all(bytes(raw[r.pk]) for r in (recent, parked, waiting))
    assert left(InboundMessage) == sorted(r.pk for r in (old, recent, parked, waiting))
    assert retention.purge_all()["inbound_raw"] == 0  # nothing twice


def test_outbound_mail_records_past_their_age_go_but_never_mail_still_to_send(db):
    S = OutboundMessage.Status
    sent, failed, bounced = outbound(181), outbound(181, S.FAILED), outbound(181, S.BOUNCED)
    queued, recent = outbound(400, S.QUEUED), outbound(179)

    assert retention.purge_all()["outbound_mail"] == 3

    assert left(OutboundMessage) == sorted([queued.pk, recent.pk])
    assert not {sent.pk, failed.pk, bounced.pk} & set(left(OutboundMessage))


def test_finished_webhook_deliveries_past_their_age_go_with_their_attempts(db):
    S = Delivery.Status
    done, gave_up = delivery(31), delivery(31, S.GAVE_UP)
    done.log.create(number=1, status_code=200)
    retrying, recent = delivery(40, S.FAILED), delivery(29)

    assert retention.purge_all()["webhook_deliveries"] == 2

    assert left(Delivery) == sorted([retrying.pk, recent.pk])
    assert not done.log.exists()
    assert gave_up.pk not in left(Delivery)


def test_links_and_tokens_long_expired_go(db, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)

    def tokens(expired_days_ago):
        n = next(seq)
        expires = ago(expired_days_ago)
        return [
            EmailVerification.objects.create(
                token_hash=f"v{n}", email="x@y.test", password="!", expires_at=expires
            ),
            AccessLink.objects.create(
                token_hash=f"a{n}", ticket=ticket, user=cast.alice, email="a@b", expires_at=expires
            ),
            Invitation.objects.create(token_hash=f"i{n}", email="x@y.test", expires_at=expires),
        ]

    old, recent, live = tokens(31), tokens(29), tokens(-3)

    assert retention.purge_all()["tokens"] == 3

    for model, *rows in zip(
        (EmailVerification, AccessLink, Invitation), old, recent, live, strict=True
    ):
        assert left(model) == sorted(r.pk for r in rows[1:])


def test_job_runs_past_their_age_go(db):
    old = JobRun.objects.create(job="x", via="command", started_at=ago(15), result="ok")
    recent = JobRun.objects.create(job="x", via="command", started_at=ago(13), result="ok")

    retention.purge_all()

    assert left(JobRun) == [recent.pk] and old.pk not in left(JobRun)


def test_ages_come_from_the_retention_settings_and_zero_keeps_for_ever(db):
    rows = [outbound(10), outbound(40)]
    settings_row = RetentionSettings.load()
    settings_row.outbound_mail_days = 30
    settings_row.inbound_raw_days = 0
    settings_row.save()
    old_raw = inbound(1000)

    done = retention.purge_all()

    assert left(OutboundMessage) == [rows[0].pk]
    assert "inbound_raw" not in done
    assert bytes(InboundMessage.objects.get(pk=old_raw.pk).raw)


def test_purges_run_in_batches(db, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    for _ in range(5):
        outbound(200)
    keep = outbound(1)

    with CaptureQueriesContext(connection) as queries:
        assert retention.purge_outbound_mail(ago(180)) == 5

    deletes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("DELETE") and "mail_outboundmessage" in q["sql"]
    ]
    assert len(deletes) == 3  # 2 + 2 + 1, never one statement for them all
    assert left(OutboundMessage) == [keep.pk]


def test_idempotency_keys_past_their_ttl_go_in_batches(db, monkeypatch, settings):
    monkeypatch.setattr(retention, "BATCH", 2)
    settings.HELPDESK_API = {**settings.HELPDESK_API, "IDEMPOTENCY_TTL_HOURS": 24}
    rows = [
        IdempotencyRecord.objects.create(
            caller="key:1", key=f"k{n}", fingerprint="f", created_at=ago(2 if n < 3 else 0)
        )
        for n in range(4)
    ]

    assert purge_idempotency() == 3

    assert left(IdempotencyRecord) == [rows[3].pk]


def test_the_cron_job_runs_every_purge(db):
    outbound(181)
    inbound(91)

    assert cron.run_job("purge_retention") == 2

    assert not OutboundMessage.objects.exists()
    assert JobRun.objects.get(job="purge_retention").count == 2


@pytest.mark.parametrize("name", sorted(retention.PURGES))
def test_every_purge_has_an_age_setting(name):
    assert hasattr(RetentionSettings, retention.PURGES[name].days_field)


def test_a_registered_purge_runs_with_its_age(db, monkeypatch):
    """The hook the audit log uses (its age: RetentionSettings.audit_days)."""
    seen = []
    monkeypatch.setitem(
        retention.PURGES,
        "audit",
        retention.Purge("audit", "audit_days", lambda c: seen.append(c) or 4),
    )

    assert retention.purge_all(now=NOW)["audit"] == 4

    assert seen == [NOW - dt.timedelta(days=365)]
