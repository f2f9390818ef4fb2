"""`manage.py import_osticket --source mysql://USER:PASS@HOST:3306/DBNAME`
(docs/migrating-from-osticket.md)."""

import datetime as dt
import os

from django.core.management.base import CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime

from accounts.audit import NamedCommand
from helpdesk.importers.osticket.base import KINDS, Options, Progress
from helpdesk.importers.osticket.files import files_dir
from helpdesk.importers.osticket.run import run
from helpdesk.importers.osticket.source import Source, SourceError, parse_source


def since(value: str) -> dt.datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since {value!r}: give a date (2024-05-31) or a time.")
        parsed = dt.datetime.combine(day, dt.time())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Command(NamedCommand):
    help = "Import an osTicket helpdesk (1.10 to 1.18) from its MySQL or MariaDB database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source",
            default=os.environ.get("OSTICKET_SOURCE", ""),
            help="mysql://USER:PASS@HOST:3306/DBNAME (or OSTICKET_SOURCE, which keeps the "
            "password out of the process list).",
        )
        parser.add_argument("--prefix", default="ost_", help="osTicket's table prefix (ost_).")
        parser.add_argument(
            "--attachments-dir", help="osTicket's attachment folder (filesystem storage)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Read and check everything, write nothing."
        )
        parser.add_argument("--only", help=f"Some kinds only, comma-separated: {', '.join(KINDS)}.")
        parser.add_argument(
            "--since", help="Only rows changed since this date (UTC): the cut-over delta."
        )
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--workers",
            type=int,
            default=min(4, os.cpu_count() or 1),
            help=(
                "Processes importing batches side by side on PostgreSQL (default: the CPUs,"
                " at most 4; 1: this process alone)."
            ),
        )

    def handle(self, *args, **opts):
        if not opts["source"]:
            raise CommandError(
                "Give --source mysql://USER:PASS@HOST:3306/DBNAME (or OSTICKET_SOURCE)."
            )
        only = frozenset(KINDS)
        if opts["only"]:
            only = frozenset(k.strip() for k in opts["only"].split(",") if k.strip())
            unknown = sorted(only - set(KINDS))
            if unknown:
                raise CommandError(
                    f"--only: unknown kind {', '.join(unknown)} (kinds: {', '.join(KINDS)})."
                )
        if opts["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        options = Options(
            dry_run=opts["dry_run"],
            only=only,
            since=since(opts["since"]) if opts["since"] else None,
            attachments_dir=files_dir(opts["attachments_dir"]),
            batch_size=opts["batch_size"],
            workers=max(1, opts["workers"]),
        )
        if options.attachments_dir is not None and not options.attachments_dir.is_dir():
            raise CommandError(f"--attachments-dir {options.attachments_dir} is not a folder.")
        try:
            source = Source(parse_source(opts["source"]), opts["prefix"])
            with source:
                report = run(source, options, Progress(self.stderr._out))
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        for line in report.lines():
            self.stdout.write(line)
        if options.dry_run:
            self.stdout.write("\nDry run: nothing was written.")
