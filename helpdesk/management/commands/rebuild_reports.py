import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from helpdesk.reports.rollup import rebuild_range


def day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not a day (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = (
        "Derive again the reports' facts of the tickets active in a range of UTC days and "
        "sum those days again (after an upgrade, an import, or for the bench)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="end", help="Last day, YYYY-MM-DD (default: today).")

    def handle(self, *args, start, end, verbosity=1, **options):
        first = day(start)
        last = day(end) if end else dt.datetime.now(dt.UTC).date()
        if first > last:
            raise CommandError("--from comes after --to.")
        echo = self.stdout.write if verbosity > 1 else None
        tickets, days = rebuild_range(first, last, verbose=echo)
        self.stdout.write(f"{tickets} tickets, {days} days rebuilt ({first} to {last}).")
