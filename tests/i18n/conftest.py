"""Fixtures of the language tests: the helpdesk defaults of the mail tests, and a small
French catalogue of our own (LOCALE_PATHS pointed at it), so what the default templates
say in French does not wait for the shipped catalogue, and cannot change with it."""

import polib
import pytest

from helpdesk.mail.templates import MESSAGES
from tests.mail.conftest import helpdesk, trust_mail  # noqa: F401  (the mail tests' fixtures)

# msgid -> French, for the defaults in code these tests mail
FRENCH = {
    MESSAGES["ticket.autoresp"][0]: "Demande ouverte [#{{ ticket.number }}] {{ ticket.subject }}",
    MESSAGES["ticket.autoresp"][1][0]: (
        "Bonjour {{ recipient.name }},\n\nNous avons bien reçu votre demande et ouvert le "
        "ticket #{{ ticket.number }}. Un agent vous répondra dès que possible.\n\n"
        "Suivez-le sur {{ url }}.\n\n{{ department.name }}\n{{ signature }}"
    ),
}


@pytest.fixture
def french(settings, tmp_path):
    """A French catalogue with the new-ticket autoresponse translated (and nothing else
    of ours): the only one Django reads for our strings in these tests."""
    folder = tmp_path / "locale" / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "fr"}
    for msgid, msgstr in FRENCH.items():
        po.append(polib.POEntry(msgid=msgid, msgstr=msgstr))
    po.save(str(folder / "django.po"))
    po.save_as_mofile(str(folder / "django.mo"))
    settings.LOCALE_PATHS = [tmp_path / "locale"]  # Django drops its cached catalogues
    return FRENCH


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a step with its after-commit work (signals, tasks, sending) executed."""

    def _run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return _run
