"""The helper refusal tests lean on (tests/nowrite.py) must be able to fail."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.files.storage import default_storage
from django.db import transaction

from helpdesk.portal.models import PortalSettings
from threads.models import Thread, ThreadEvent
from threads.services import files_store
from tickets.models import Ticket

from .factories import attachment, open_ticket


def test_a_block_that_only_reads_passes(nothing_written, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)

    with nothing_written() as watch:
        assert Ticket.objects.get(pk=ticket.pk).subject == "Printer on fire"

    assert watch.before.rows["tickets.ticket"][ticket.pk]["subject"] == "Printer on fire"
    assert watch.added["tickets.ticket"] == []


def test_it_fails_when_a_row_is_written(nothing_written, cast):
    with pytest.raises(AssertionError, match=r"tickets\.ticket: rows added"), nothing_written():
        open_ticket(cast.alice, department=cast.dept_a)


def test_it_fails_when_a_row_is_removed(nothing_written, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)

    with (
        pytest.raises(AssertionError, match=r"threads\.threadevent: rows removed"),
        nothing_written(),
    ):
        ThreadEvent.objects.filter(thread_id=ticket.thread_id).delete()


def test_it_fails_when_a_value_changes_in_place(nothing_written, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)

    with pytest.raises(AssertionError) as failure, nothing_written():
        Ticket.objects.filter(pk=ticket.pk).update(subject="Changed")

    assert f"tickets.ticket pk={ticket.pk}: changed" in str(failure.value)
    assert "'subject': ('Printer on fire', 'Changed')" in str(failure.value)


def test_it_fails_when_a_many_to_many_row_is_written(nothing_written, cast):
    with (
        pytest.raises(AssertionError, match=r"accounts\.user_groups: rows added"),
        nothing_written(),
    ):
        group = Group.objects.create(name="g")
        cast.alice.groups.add(group)


def test_it_fails_when_mail_is_sent(nothing_written, cast):
    with (
        pytest.raises(AssertionError, match=r"mail\.outbox: 1 message\(s\) sent"),
        nothing_written(),
    ):
        mail.send_mail("s", "b", "from@x.test", ["to@x.test"])


def test_it_fails_when_an_after_commit_callback_is_queued(nothing_written, cast):
    with pytest.raises(AssertionError, match="on_commit: 1 callback"), nothing_written():
        transaction.on_commit(lambda: None)


def test_it_fails_when_a_file_is_stored(nothing_written, cast):
    with (
        pytest.raises(AssertionError, match=r"MEDIA_ROOT: files added \['stray\.txt'\]"),
        nothing_written(),
    ):
        default_storage.save("stray.txt", io.BytesIO(b"x"))


def test_named_tables_and_columns_may_change(nothing_written, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)

    with nothing_written(ignore=("tickets.ticket.subject", "threads.threadevent")):
        Ticket.objects.filter(pk=ticket.pk).update(subject="Changed")
        ThreadEvent.objects.filter(thread_id=ticket.thread_id).delete()

    with (
        pytest.raises(AssertionError, match=r"'version': \(1, 2\)"),
        nothing_written(ignore=("tickets.ticket.subject",)),
    ):
        Ticket.objects.filter(pk=ticket.pk).update(subject="Again", version=2)


def test_an_unknown_name_to_ignore_is_refused(nothing_written):
    with (
        pytest.raises(ValueError, match="no such table to ignore"),
        nothing_written(ignore=("tickets.tikcet",)),
    ):
        pass
    with (
        pytest.raises(ValueError, match=r"'app\.model' or 'app\.model\.column'"),
        nothing_written(ignore=("tickets",)),
    ):
        pass


def test_an_exception_from_the_block_is_not_swallowed(nothing_written, cast):
    with pytest.raises(KeyError), nothing_written():
        open_ticket(cast.alice, department=cast.dept_a)
        raise KeyError("the block's own error")


def test_a_settings_row_loaded_with_its_defaults_is_not_a_write(nothing_written):
    PortalSettings.objects.all().delete()

    with nothing_written():
        PortalSettings.load()

    PortalSettings.objects.all().delete()
    with (
        pytest.raises(AssertionError, match=r"helpdesk_portal\.portalsettings: rows added"),
        nothing_written(),
    ):
        PortalSettings.objects.create(pk=1, kb_enabled=False)


def test_only_new_lets_rows_be_added_but_not_changed(nothing_written, cast):
    ticket = open_ticket(cast.alice, department=cast.dept_a)

    with nothing_written(only_new=("tickets.Ticket", "threads.thread")) as watch:
        Thread.objects.create()

    assert [row["id"] for row in watch.added["threads.thread"]] == [Thread.objects.last().pk]
    with (
        pytest.raises(AssertionError, match=rf"tickets\.ticket pk={ticket.pk}: changed"),
        nothing_written(only_new=("tickets.ticket",)),
    ):
        Ticket.objects.filter(pk=ticket.pk).update(subject="Changed")
    with (
        pytest.raises(AssertionError, match=r"threads\.threadentry: rows removed"),
        nothing_written(only_new=("threads.threadentry",)),
    ):
        ticket.thread.entries.all().delete()


def test_orphans_lets_files_be_stored_and_nothing_else(nothing_written, cast):
    with nothing_written(orphans=True) as watch:
        files_store([attachment("a.txt", b"orphan")])

    [row] = watch.added["threads.storedfile"]
    assert default_storage.exists(row["file"])
    with (
        pytest.raises(AssertionError, match=r"MEDIA_ROOT: files added \['stray\.txt'\]"),
        nothing_written(orphans=True),
    ):
        default_storage.save("stray.txt", io.BytesIO(b"x"))  # a file without its row
