"""`run_cron` once: a failing job is reported and the others still run."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from helpdesk import cron


def test_a_failing_job_does_not_stop_the_others_and_the_command_fails_naming_it(db, monkeypatch):
    ran = []

    def boom():
        raise RuntimeError("the disk is full")

    def fine(name):
        def job():
            ran.append(name)
            return 0

        return job

    monkeypatch.setattr(
        cron,
        "JOBS",
        {"first": fine("first"), "broken": boom, "last": fine("last"), "also_broken": boom},
    )
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError) as refused:
        call_command("run_cron", stdout=out, stderr=err)

    assert ran == ["first", "last"]
    assert str(refused.value) == "2 of 4 jobs failed: broken, also_broken."
    assert "broken failed: RuntimeError('the disk is full')" in err.getvalue()
    assert "also_broken failed: RuntimeError('the disk is full')" in err.getvalue()
    assert out.getvalue().splitlines() == ["first: 0", "last: 0"]
