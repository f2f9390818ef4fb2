"""Idempotency-Key on POST: replay, refusal of a reused key, 409 while in flight."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from helpdesk.api.idempotency import purge
from helpdesk.api.models import IdempotencyRecord
from tickets.models import Ticket

from .conftest import problem


def create(client, key, subject="Printer", **extra):
    body = {"subject": subject, "body": "b", "requester_email": "alice@acme.test", **extra}
    return client.post("/api/v1/tickets/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_key_and_body_replays_the_first_answer(api, cast):
    client = api.agent(cast.agent_a)

    first = create(client, "k-1", department=cast.dept_a.pk)
    second = create(client, "k-1", department=cast.dept_a.pk)

    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Location"] == first["Location"] and second["ETag"] == first["ETag"]
    assert second["Idempotent-Replayed"] == "true"
    assert Ticket.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(api, cast, nothing_written):
    client = api.agent(cast.agent_a)
    create(client, "k-2", department=cast.dept_a.pk)

    with nothing_written():
        response = create(client, "k-2", subject="Other", department=cast.dept_a.pk)

    assert response.status_code == 422
    assert problem(response)["code"] == "idempotency_key_reused"
    assert Ticket.objects.count() == 1


def test_a_duplicate_while_the_first_runs_is_a_409(api, cast, nothing_written):
    client = api.agent(cast.agent_a)
    create(client, "k-3", department=cast.dept_a.pk)
    IdempotencyRecord.objects.update(state=IdempotencyRecord.State.PENDING)

    with nothing_written():
        response = create(client, "k-3", department=cast.dept_a.pk)

    assert response.status_code == 409
    assert problem(response)["code"] == "in_progress"
    assert Ticket.objects.count() == 1


def test_a_request_cut_before_its_answer_leaves_no_ticket_and_no_record(api, cast, monkeypatch):
    """The process dies after the ticket's own transaction and before the key's answer
    is stored (here: storing it raises). The request and its record are one
    transaction, so nothing of it stays, and the client's retry opens the ticket once."""
    from helpdesk.api import idempotency

    client = api.agent(cast.agent_a)

    def cut(record, response):
        raise ConnectionResetError("the worker died")

    monkeypatch.setattr(idempotency, "finish", cut)
    with pytest.raises(ConnectionResetError):
        create(client, "k-cut", department=cast.dept_a.pk)
    assert not Ticket.objects.exists()
    assert not IdempotencyRecord.objects.exists()

    monkeypatch.undo()
    retried = create(client, "k-cut", department=cast.dept_a.pk)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert Ticket.objects.count() == 1


def test_keys_are_scoped_to_the_caller(api, cast):
    create(api.agent(cast.agent_a), "shared", department=cast.dept_a.pk)
    create(api.agent(cast.manager_a), "shared", department=cast.dept_a.pk)

    assert Ticket.objects.count() == 2


def test_errors_are_replayed_too_and_server_errors_free_the_key(api, cast, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written(ignore=("helpdesk_api.idempotencyrecord",)):  # the answer, kept
        first = create(client, "k-4")  # no department, no default: 422
    assert IdempotencyRecord.objects.get().key == "k-4"

    with nothing_written():
        second = create(client, "k-4")

    assert first.status_code == second.status_code == 422
    assert second["Idempotent-Replayed"] == "true"


def test_an_expired_key_is_purged_and_can_be_used_again(api, cast):
    client = api.agent(cast.agent_a)
    create(client, "k-5", department=cast.dept_a.pk)
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))

    assert purge() == 1
    assert create(client, "k-5", department=cast.dept_a.pk).status_code == 201
    assert Ticket.objects.count() == 2


def test_a_record_younger_than_a_day_is_kept(api, cast):
    create(api.agent(cast.agent_a), "k-6", department=cast.dept_a.pk)
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(hours=23))

    assert purge() == 0


def test_an_invalid_key_is_a_400(api, cast, nothing_written):
    client = api.agent(cast.agent_a)
    with nothing_written():
        response = create(client, "x" * 256, department=cast.dept_a.pk)

    assert response.status_code == 400
    assert problem(response)["detail"] == (
        "Idempotency-Key must be 1 to 255 printable ASCII characters."
    )
    assert not Ticket.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_duplicates_create_one_ticket(cast):
    """Eight clients send the same key and body at once: one ticket; the others are
    replays or 409 (in flight), never a second ticket."""
    from .conftest import Api

    client = Api(cast).agent(cast.agent_a)
    barrier = threading.Barrier(8)
    codes = []

    def send():
        barrier.wait()
        try:
            codes.append(create(client, "race", department=cast.dept_a.pk).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Ticket.objects.count() == 1
    assert codes.count(201) >= 1 and set(codes) <= {201, 409}
