"""accounts.bus: a failing receiver after commit cannot stop the others; one inside the
transaction rolls the change back."""

import logging

import pytest
from django.db import transaction
from django.dispatch import Signal

from accounts import bus
from accounts.models import Organization

pinged = Signal()  # a module-level signal, so the log can name it


class Boom(Exception):
    pass


def test_a_receiver_that_raises_after_commit_is_logged_and_the_next_one_still_runs(
    db, caplog, django_capture_on_commit_callbacks
):
    calls = []

    def first(sender, **kwargs):
        calls.append("first")
        raise Boom("first receiver broke")

    def second(sender, **kwargs):
        calls.append(("second", kwargs["n"]))

    pinged.connect(first, weak=False, dispatch_uid="t.first")
    pinged.connect(second, weak=False, dispatch_uid="t.second")
    try:
        with (
            caplog.at_level(logging.ERROR, logger="accounts.bus"),
            django_capture_on_commit_callbacks(execute=True),
            transaction.atomic(),
        ):
            bus.send_on_commit(pinged, sender=Organization, n=7)
            assert calls == []  # nothing before commit
    finally:
        pinged.disconnect(dispatch_uid="t.first")
        pinged.disconnect(dispatch_uid="t.second")

    assert calls == ["first", ("second", 7)]
    records = [r for r in caplog.records if r.name == "accounts.bus"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert "test_bus.test_a_receiver_that_raises" in message and ".first" in message
    assert "tests.accounts.test_bus.pinged" in message
    assert record.exc_info[0] is Boom
    assert record.exc_info[2] is not None  # the traceback
    assert "first receiver broke" in caplog.text


def test_send_robust_returns_every_receivers_result(db):
    def ok(sender, **kwargs):
        return "fine"

    def bad(sender, **kwargs):
        raise Boom("no")

    pinged.connect(bad, weak=False, dispatch_uid="t.bad")
    pinged.connect(ok, weak=False, dispatch_uid="t.ok")
    try:
        results = dict(bus.send_robust(pinged, sender=None))
    finally:
        pinged.disconnect(dispatch_uid="t.bad")
        pinged.disconnect(dispatch_uid="t.ok")
    assert results[ok] == "fine"
    assert isinstance(results[bad], Boom)


def test_an_in_transaction_receiver_that_raises_rolls_the_change_back(
    db, django_capture_on_commit_callbacks, nothing_written
):
    after = []

    def refuse(sender, **kwargs):
        raise Boom("the outbox row could not be written")

    bus.connect_in_transaction(pinged, refuse, dispatch_uid="t.refuse")
    pinged.connect(lambda sender, **kw: after.append(1), weak=False, dispatch_uid="t.after")
    try:
        with (
            nothing_written(),
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(Boom),
            transaction.atomic(),
        ):
            Organization.objects.create(name="Written then undone")
            bus.send_on_commit(pinged, sender=Organization)
    finally:
        bus.disconnect_in_transaction(pinged, dispatch_uid="t.refuse")
        pinged.disconnect(dispatch_uid="t.after")

    assert not Organization.objects.filter(name="Written then undone").exists()
    assert callbacks == [] and after == []  # the signal itself is never sent
