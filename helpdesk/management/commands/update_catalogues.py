"""Brings every shipped catalogue up to date with the strings in the code, templates and
static/ (makemessages for the django and djangojs domains, the folders of
helpdesk.i18n.IGNORE left out), then compiles them. New strings arrive untranslated: the
catalogue test names them until they are translated. `make messages` runs this."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from helpdesk import i18n


class Command(BaseCommand):
    help = "Update the translation catalogues (locale/) from the source and compile them."
    requires_system_checks: list[str] = []  # a developer task: no settings needed

    def add_arguments(self, parser):
        parser.add_argument("--no-compile", action="store_true", help="Update the .po files only.")

    def handle(self, *args, **options):
        locales = [i18n.locale_name(code) for code in i18n.shipped()]
        Path(settings.LOCALE_PATHS[0]).mkdir(parents=True, exist_ok=True)
        for domain in i18n.DOMAINS:
            call_command(
                "makemessages",
                locale=locales,
                domain=domain,
                ignore_patterns=i18n.IGNORE,
                no_obsolete=True,
                no_location=True,
                no_wrap=True,
                verbosity=0,
            )
        for code in i18n.shipped():
            for domain in i18n.DOMAINS:
                path = i18n.catalogue(code, domain)
                if path.exists():
                    i18n.fill_header(path, code)
        if not options["no_compile"]:
            call_command(
                "compilemessages", locale=locales, ignore_patterns=i18n.IGNORE, verbosity=0
            )
        self.stdout.write(f"Updated {len(locales)} languages in {settings.LOCALE_PATHS[0]}.")
