"""Running the importer from the tests."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command

from helpdesk.importers.osticket.base import KINDS, Options, Progress, Report
from helpdesk.importers.osticket.run import run
from helpdesk.importers.osticket.source import Source, parse_source

from .factories import OsTicket


def import_osticket(db: OsTicket, **options: Any) -> Report:
    """The import, in this process, returning its report."""
    options.setdefault("only", frozenset(KINDS))
    source = Source(parse_source(db.url), db.prefix)
    with source:
        return run(source, Options(**options), Progress(io.StringIO(), interactive=False))


def command(db: OsTicket, *args: str) -> str:
    """`manage.py import_osticket --source ... ARGS`, its output."""
    out, err = io.StringIO(), io.StringIO()
    call_command("import_osticket", "--source", db.url, *args, stdout=out, stderr=err)
    return out.getvalue()
