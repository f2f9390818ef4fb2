"""`python manage.py ingest_email < message.eml`: one RFC 822 message from an MTA pipe.

Exit status (sysexits): 0 whenever the message is recorded, whatever became of it:
accepted, dropped on purpose, a duplicate, rejected (ban list, filter, open-ticket
limit) or unreadable and parked for review; a non-zero status would make the MTA bounce
the message to its sender, who may be forged (backscatter). 65 empty input (nothing to
record); 75 temporary failure (the database is down: the MTA keeps the message and
retries). The outcome is written to standard output, or to standard error with a
non-zero status.
"""

import sys

from accounts.audit import NamedCommand
from helpdesk.mail.inbound import EX_DATAERR, EX_TEMPFAIL, TemporaryFailure, ingest
from threads.models import Channel


class Command(NamedCommand):
    help = "Import one email message read from standard input (for an MTA pipe)."

    def handle(self, *args, **options):
        raw = sys.stdin.buffer.read()
        if not raw or raw.isspace():
            self.stderr.write("empty input: no message to import")
            sys.exit(EX_DATAERR)
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
