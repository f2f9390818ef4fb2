"""Webhooks: the outbox written with the change, signed deliveries, retries with
backoff for 24 hours, the address guard, nothing lost when the broker is down, and no
request waiting on a target."""

import datetime as dt
import hashlib
import hmac
import json

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from helpdesk.cron import run_job
from helpdesk.outbox.models import OutboxTask
from helpdesk.webhooks import services
from helpdesk.webhooks.models import Delivery, Subscription
from tickets import services as ticket_services

from ..factories import open_ticket
from ..redis_process import celery_broker


def subscribe(url, events=("*",)):
    return Subscription.objects.create(name="hook", url=url, events=list(events))


DELIVER = "helpdesk.webhooks.tasks.deliver_webhook_task"


def retry_job() -> int:
    """The webhooks_retry job puts due deliveries back in the outbox; the outbox job
    (no broker here) sends them."""
    count = run_job("webhooks_retry")
    run_job("outbox_drain")
    return count


def test_a_change_writes_deliveries_in_its_transaction_and_sends_them_signed(
    cast, receiver, django_capture_on_commit_callbacks
):
    sub = subscribe(receiver.url, ["ticket.created", "ticket.assigned"])

    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(cast.alice, department=cast.dept_a)
        ticket_services.ticket_claim(actor=cast.agent_a, ticket=ticket)

    rows = list(Delivery.objects.order_by("pk"))
    assert [(d.event, d.status) for d in rows] == [
        ("ticket.created", "succeeded"),
        ("ticket.assigned", "succeeded"),
    ]
    assert len(receiver.requests) == 2
    headers, body = receiver.requests[0]
    payload = json.loads(body)
    assert payload["event"] == "ticket.created"
    assert payload["ticket"]["number"] == ticket.number
    assert payload["channel"] == "portal"
    expected = hmac.new(
        sub.secret.encode(), headers["X-Helpdesk-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Helpdesk-Signature"] == f"sha256={expected}"
    assert headers["X-Helpdesk-Event"] == "ticket.created"
    assert headers["X-Helpdesk-Delivery"] == str(rows[0].pk)
    attempt = rows[0].log.get()
    assert (attempt.number, attempt.status_code, attempt.response_excerpt) == (1, 200, "thanks")


def test_a_rolled_back_change_leaves_no_delivery(cast, receiver, nothing_written):
    subscribe(receiver.url)

    with nothing_written(), pytest.raises(RuntimeError), transaction.atomic():
        open_ticket(cast.alice, department=cast.dept_a)
        raise RuntimeError("abort")

    assert not Delivery.objects.exists()
    assert receiver.requests == []


def test_only_subscribed_events_are_delivered(cast, receiver, django_capture_on_commit_callbacks):
    subscribe(receiver.url, ["entry.created"])

    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(cast.alice, department=cast.dept_a)
        ticket_services.ticket_post_note(actor=cast.agent_a, ticket=ticket, body="hi")

    assert list(Delivery.objects.values_list("event", flat=True)) == ["entry.created"]
    assert Delivery.objects.get().payload["kind"] == "note"


def test_a_failure_is_retried_with_backoff_then_given_up_after_24_hours(
    cast, receiver, django_capture_on_commit_callbacks
):
    subscribe(receiver.url, ["ticket.created"])
    receiver.status = 500
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            open_ticket(cast.alice, department=cast.dept_a)
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("failed", 1)
        assert delivery.next_attempt_at == start + dt.timedelta(seconds=30)
        assert retry_job() == 0  # not due yet

    with time_machine.travel(start + dt.timedelta(seconds=31), tick=False):
        assert retry_job() == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == start + dt.timedelta(seconds=31 + 60)

    with time_machine.travel(start + dt.timedelta(hours=24, seconds=1), tick=False):
        assert retry_job() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("gave_up", 3)
    assert [a.status_code for a in delivery.log.all()] == [500, 500, 500]


def test_a_late_success_is_recorded(cast, receiver, django_capture_on_commit_callbacks):
    subscribe(receiver.url, ["ticket.created"])
    receiver.status = 503
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(cast.alice, department=cast.dept_a)
    receiver.status = 204

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1)):
        assert retry_job() == 1

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 2, 204)


def test_sending_twice_is_harmless(cast, receiver, django_capture_on_commit_callbacks):
    subscribe(receiver.url, ["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(cast.alice, department=cast.dept_a)

    assert services.delivery_send(Delivery.objects.get().pk) is None
    assert len(receiver.requests) == 1


def test_nothing_is_lost_when_the_broker_is_down(
    cast, receiver, django_capture_on_commit_callbacks
):
    subscribe(receiver.url, ["ticket.created"])
    with celery_broker("redis://127.0.0.1:1/0"):  # nothing listens there
        with django_capture_on_commit_callbacks(execute=True):
            ticket = open_ticket(cast.alice, department=cast.dept_a)
        task = OutboxTask.objects.get(task=DELIVER)
        assert (task.args, task.state, task.offered_at) == (
            [Delivery.objects.get().pk],
            "pending",
            None,  # the broker refused it: the outbox job offers it again at once
        )
        assert receiver.requests == []
        # the broker is still down: the job runs the delivery and the notification itself
        assert run_job("outbox_drain") == 2
    assert ticket.pk is not None
    assert Delivery.objects.get().status == "succeeded"
    assert len(receiver.requests) == 1
    assert not OutboxTask.objects.filter(task=DELIVER).exists()


def test_forty_slow_targets_keep_no_request_waiting_and_are_sent_by_the_outbox_job(
    cast, receiver, settings, django_capture_on_commit_callbacks
):
    """Without a broker (`make run` without Redis) a ticket change commits and answers
    at once: the deliveries wait in the outbox for the periodic job, not in the request."""
    from ..api.conftest import Api

    for n in range(40):
        Subscription.objects.create(name=f"hook {n}", url=receiver.url, events=["*"])
    receiver.delay = 5.0  # each target takes five seconds to answer
    with celery_broker("memory://"):  # no broker: `make run` without Redis
        api = Api(cast).agent(cast.agent_a)
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                "/api/v1/tickets/",
                {
                    "subject": "Hi",
                    "body": "Hi",
                    "requester": cast.alice.pk,
                    "department": cast.dept_a.pk,
                },
                format="json",
            )
        assert response.status_code == 201, response.content
        assert receiver.requests == []  # nothing was sent while the request ran
        assert Delivery.objects.filter(status="pending").count() == 40
        assert OutboxTask.objects.filter(task=DELIVER, state="pending").count() == 40

        receiver.delay = 0.0
        assert run_job("outbox_drain") == 41  # and the new-ticket notification
    assert len(receiver.requests) == 40
    assert Delivery.objects.filter(status="succeeded").count() == 40
    assert not OutboxTask.objects.filter(task=DELIVER).exists()


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        (
            "http://127.0.0.1/x",
            "127.0.0.1 is refused: 127.0.0.1 is not a public address: loopback.",
        ),
        ("http://10.0.0.5/x", "10.0.0.5 is refused: 10.0.0.5 is not a public address: private."),
        (
            "http://192.168.1.1/x",
            "192.168.1.1 is refused: 192.168.1.1 is not a public address: private.",
        ),
        (
            "http://169.254.169.254/latest/meta-data",
            "169.254.169.254 is refused: 169.254.169.254 is not a public address: link-local.",
        ),
        ("http://[::1]/x", "::1 is refused: ::1 is not a public address: loopback."),
        ("http://localhost/x", "localhost is refused: it names this machine (loopback)."),
        ("ftp://example.com/x", "Only http and https URLs with a host are accepted."),
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(
    cast, api_admin, url, refusal, nothing_written
):
    with nothing_written():
        response = api_admin.post(
            "/api/v1/webhooks/", {"name": "x", "url": url, "events": ["*"]}, format="json"
        )

    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["detail"], body["errors"]) == (
        "url_refused",
        refusal,
        {"url": [refusal]},
    )
    assert not Subscription.objects.exists()


def test_a_subscription_whose_address_became_private_gives_up(cast, settings):
    Subscription.objects.create(name="x", url="http://10.1.1.1/hook", events=["*"])
    open_ticket(cast.alice, department=cast.dept_a)
    delivery = Delivery.objects.get()

    assert services.delivery_send(delivery.pk) == "gave_up"
    delivery.refresh_from_db()
    assert delivery.last_error == "10.1.1.1 is refused: 10.1.1.1 is not a public address: private."


@pytest.fixture
def api_admin(cast):
    from ..api.conftest import Api

    return Api(cast).agent(cast.admin)


def test_admins_manage_subscriptions_and_read_the_log(
    cast, receiver, api_admin, django_capture_on_commit_callbacks
):
    created = api_admin.post(
        "/api/v1/webhooks/",
        {"name": "Chat", "url": receiver.url, "events": ["ticket.created"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    sub_id = created.json()["id"]
    assert len(created.json()["secret"]) == 64
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(cast.alice, department=cast.dept_a)

    log = api_admin.get(f"/api/v1/webhooks/{sub_id}/deliveries/").json()["results"]
    assert [(d["event"], d["status"]) for d in log] == [("ticket.created", "succeeded")]
    assert log[0]["log"][0]["status_code"] == 200
    assert "secret" not in api_admin.get(f"/api/v1/webhooks/{sub_id}/").json()

    with django_capture_on_commit_callbacks(execute=True):
        again = api_admin.post(f"/api/v1/webhooks/{sub_id}/deliveries/{log[0]['id']}/redeliver/")
    assert again.status_code == 200
    assert len(receiver.requests) == 2

    changed = api_admin.patch(f"/api/v1/webhooks/{sub_id}/", {"is_active": False}, format="json")
    assert changed.json()["is_active"] is False
    assert api_admin.delete(f"/api/v1/webhooks/{sub_id}/").status_code == 204
    assert not Subscription.objects.exists()


def test_agents_who_are_not_admins_cannot_see_webhooks(cast, nothing_written):
    from ..api.conftest import Api

    client = Api(cast).agent(cast.agent_a)
    subscribe("http://example.com/x")

    assert client.get("/api/v1/webhooks/").status_code == 403
    with nothing_written():
        created = client.post(
            "/api/v1/webhooks/",
            {"name": "x", "url": "http://example.com", "events": ["*"]},
            format="json",
        )
    assert (created.status_code, created.json()["code"]) == (403, "permission_denied")
    assert Subscription.objects.count() == 1


def test_unknown_events_are_refused(api_admin, nothing_written):
    with nothing_written():
        response = api_admin.post(
            "/api/v1/webhooks/",
            {"name": "x", "url": "http://example.com/", "events": ["ticket.exploded"]},
            format="json",
        )

    assert response.status_code == 422
    assert response.json()["errors"] == {"events.0": ['"ticket.exploded" is not a valid choice.']}
