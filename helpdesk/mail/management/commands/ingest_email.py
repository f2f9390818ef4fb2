"""`python manage.py ingest_email < message.eml`: one RFC 822 message from an MTA pipe.

Exit status (osTicket's sysexits): 0 accepted or deliberately dropped (also a
duplicate), 65 unreadable (parked), 77 denied by a filter or the ban list, 75 temporary
failure (the database is down: the MTA keeps the message and retries). The reason is
written to standard error.
"""

import sys

from django.core.management.base import BaseCommand

from helpdesk.mail.inbound import EX_TEMPFAIL, TemporaryFailure, ingest
from threads.models import Channel


class Command(BaseCommand):
    help = "Import one email message read from standard input (for an MTA pipe)."

    def handle(self, *args, **options):
        raw = sys.stdin.buffer.read()
        try:
            result = ingest(raw, channel=Channel.EMAIL)
        except TemporaryFailure as exc:
            self.stderr.write(f"temporary failure, try again later: {exc}")
            sys.exit(EX_TEMPFAIL)
        ticket = f" #{result.ticket.number}" if result.ticket is not None else ""
        line = f"{result.status}{ticket}" + (f": {result.reason}" if result.reason else "")
        (self.stdout if result.exit_code == 0 else self.stderr).write(line)
        if result.exit_code:
            sys.exit(result.exit_code)
