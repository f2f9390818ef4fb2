"""`python manage.py fetch_mail`: one fetch pass by hand (the cron job runs it too)."""

from django.core.management.base import CommandError

from accounts.audit import NamedCommand
from helpdesk.mail.fetching import fetch_due, fetch_mailbox
from helpdesk.mail.models import Mailbox


class Command(NamedCommand):
    help = "Fetch new mail from every enabled mailbox (or the named ones), once."

    def add_arguments(self, parser):
        parser.add_argument("mailboxes", nargs="*", help="Mailbox names (default: all enabled).")

    def handle(self, *args, mailboxes=(), **options):
        if mailboxes:
            found = {m.name: m for m in Mailbox.objects.filter(name__in=mailboxes)}
            missing = sorted(set(mailboxes) - set(found))
            if missing:
                raise CommandError(f"No such mailbox: {', '.join(missing)}")
            reports = [fetch_mailbox(found[name]) for name in mailboxes]
        else:
            reports = fetch_due(force=True)
        failed = False
        for r in reports:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(r.statuses.items())) or "nothing new"
            line = f"{r.mailbox}: {r.skipped or counts}"
            if r.error:
                failed = True
                self.stderr.write(f"{line}; error: {r.error}")
            else:
                self.stdout.write(line)
        if failed:
            raise CommandError("Some mailboxes could not be fetched.")
