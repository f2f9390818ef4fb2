"""The import with worker processes (`--workers`, PostgreSQL), and a real kill.

These tests commit (the workers have their own connections: they see only what is
committed), so they run on PostgreSQL with a transactional test database.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from threads.models import Attachment, ThreadEntry, ThreadEvent
from tickets.models import Ticket

from .helpers import counts, import_osticket, more_tickets, whole_import

pytestmark = [
    pytest.mark.mariadb,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROOT = Path(__file__).resolve().parents[2]


def state() -> dict[str, list[tuple]]:
    """What the agents would see of the imported tickets, independent of row ids."""
    return {
        "tickets": sorted(
            Ticket.objects.values_list(
                "number", "subject", "requester__email", "status__name", "assignee__email"
            )
        ),
        "entries": sorted(
            ThreadEntry.objects.values_list(
                "thread__ticket__number", "kind", "body", "poster__email", "created_at"
            )
        ),
        "attachments": sorted(
            Attachment.objects.values_list(
                "entry__thread__ticket__number", "entry__body", "filename", "file__sha256"
            )
        ),
        "events": sorted(
            ThreadEvent.objects.values_list("thread__ticket__number", "kind", "created_at")
        ),
    }


def test_workers_import_what_one_process_imports(helpdesk):
    more_tickets(helpdesk, n=12)
    # one file attached to entries that fall in different batches of entries
    shared = helpdesk.file("shared.pdf", b"%PDF-1.4 shared" * 100, mime="application/pdf")
    first = helpdesk.entry(
        helpdesk.ids["thread"], "<p>With the file</p>", user_id=helpdesk.ids["jane"]
    )
    helpdesk.entries(helpdesk.ids["thread"], 40)
    last = helpdesk.entry(
        helpdesk.ids["thread"], "<p>With it again</p>", user_id=helpdesk.ids["jane"]
    )
    helpdesk.attach(first, shared)
    helpdesk.attach(last, shared)
    whole = whole_import(helpdesk, batch_size=2)
    one = _state_of_one_process(helpdesk)

    report = import_osticket(helpdesk, batch_size=2, workers=2)

    assert counts() == whole
    assert state() == one
    assert report.workers and os.getpid() not in report.workers
    assert report.counts["entry"].created == whole["ThreadEntry"]
    assert report.counts["ticket"].created == whole["Ticket"]
    # the report of every worker's batches is the report of the run
    (reason,) = [r for r in report.skips["event"] if "viewed" in r]
    assert report.skips["event"][reason] == 1

    again = import_osticket(helpdesk, batch_size=2, workers=2)

    assert counts() == whole
    for kind in ("user", "ticket", "entry", "event"):
        assert again.counts[kind].created == again.counts[kind].updated == 0, kind
        assert again.counts[kind].unchanged == report.counts[kind].created, kind


def _state_of_one_process(db) -> dict[str, list[tuple]]:
    from django.db import transaction

    with transaction.atomic():
        import_osticket(db, batch_size=2)
        seen = state()
        transaction.set_rollback(True)
    assert not Ticket.objects.exists()
    return seen


def test_an_import_killed_by_sigkill_is_completed_by_the_next_run_exactly(osticket, tmp_path):
    """SIGKILL to the command and its workers in the middle of the thread entries (no
    clean-up runs), then the same command again: every count is that of a whole import."""
    for i in range(150):
        user = osticket.user(f"User {i}", f"user{i}@example.com")
        _, thread = osticket.ticket(user, f"Ticket {i}", number=f"{800000 + i}")
        osticket.entries(thread, 5, user_id=user)
        osticket.event(thread, "created")
    whole = whole_import(osticket)
    args = ["--batch-size", "2", "--workers", "2"]

    killed = _command(osticket, args, tmp_path / "killed")
    deadline = time.monotonic() + 120
    while ThreadEntry.objects.count() < 50:  # well into the entries, far from their end
        assert killed.poll() is None, (tmp_path / "killed.err").read_text()
        assert time.monotonic() < deadline, "the import did not reach its thread entries"
        time.sleep(0.02)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    time.sleep(0.5)  # the server ends the dead sessions' transactions
    half = counts()
    assert 0 < half["ThreadEntry"] < whole["ThreadEntry"]

    finished = _command(osticket, args, tmp_path / "finished")
    finished.wait(timeout=300)
    out = (tmp_path / "finished.out").read_text()

    assert finished.returncode == 0, (tmp_path / "finished.err").read_text()
    assert counts() == whole
    entries = next(line for line in out.splitlines() if line.startswith("entry "))
    created, updated, same = (int(n) for n in entries.split()[1:4])
    assert (created, updated) == (whole["ThreadEntry"] - half["ThreadEntry"], 0)
    assert same == half["ThreadEntry"]


def _command(db, args: list[str], output: Path) -> subprocess.Popen:
    """manage.py import_osticket in a process group of its own, on the test database;
    its output in OUTPUT.out and OUTPUT.err."""
    s = connection.settings_dict
    url = f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": os.environ.get("SECRET_KEY", "x")}
    return subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "import_osticket", "--source", db.url, *args],
        cwd=ROOT,
        env=env,
        stdout=output.with_suffix(".out").open("w"),
        stderr=output.with_suffix(".err").open("w"),
        start_new_session=True,
    )
