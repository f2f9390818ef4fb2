"""`python manage.py seed_templates [LANG ...]`: the default template set in each
shipped language, from the translated defaults in code (rows that exist are kept)."""

from django.core.management.base import CommandError

from accounts.actors import SYSTEM
from accounts.audit import NamedCommand
from accounts.errors import DomainError
from helpdesk.mail.services import email_templates_seed_languages


class Command(NamedCommand):
    help = (
        "Make the default set's email templates in each shipped language (or the named "
        "ones) from the translated defaults; existing rows, and admins' edits, are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("languages", nargs="*", help="Language codes (default: all shipped).")

    def handle(self, *args, languages=(), **options):
        try:
            made = email_templates_seed_languages(actor=SYSTEM, languages=list(languages) or None)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if options["verbosity"]:
            self.stdout.write(f"{made} email templates made.")
