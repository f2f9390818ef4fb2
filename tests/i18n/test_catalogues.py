"""The catalogues we ship are complete: every entry translated, none fuzzy, the
placeholders of the English kept (helpdesk.i18n.problems); the compiled .mo files are
those of the .po files; and the code holds no string the catalogues do not have yet
(what `make messages` would add)."""

import shutil
import subprocess

import polib
import pytest
from django.core.management import call_command
from django.core.management.commands import makemessages
from django.test import override_settings

from helpdesk import i18n

LANGUAGES = i18n.shipped()


def test_twelve_languages_are_shipped():
    assert len(LANGUAGES) == 12
    for code in LANGUAGES:
        for domain in i18n.DOMAINS:
            assert i18n.catalogue(code, domain).exists(), (code, domain)
        assert (i18n.catalogue(code).parent.parent / "glossary.md").exists(), code


@pytest.mark.parametrize("domain", i18n.DOMAINS)
@pytest.mark.parametrize("code", LANGUAGES)
def test_every_entry_is_translated_with_its_placeholders(code, domain):
    found = i18n.problems(i18n.catalogue(code, domain))
    assert not found, f"{len(found)} problems:\n" + "\n".join(found[:30])


@pytest.mark.parametrize("domain", i18n.DOMAINS)
@pytest.mark.parametrize("code", LANGUAGES)
def test_the_compiled_catalogue_is_the_current_one(code, domain, tmp_path):
    po = i18n.catalogue(code, domain)
    compiled = tmp_path / "check.mo"
    subprocess.run(  # noqa: S603
        ["msgfmt", "--check-format", "-o", str(compiled), str(po)],  # noqa: S607
        check=True,
        capture_output=True,
    )
    assert compiled.read_bytes() == po.with_suffix(".mo").read_bytes(), (
        f"{po.with_suffix('.mo')} is out of date: run `make messages`"
    )


def test_the_checker_finds_what_keeps_a_catalogue_from_shipping(tmp_path):
    po = polib.POFile()
    po.metadata = {
        "Content-Type": "text/plain; charset=UTF-8",
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
    }
    po.append(polib.POEntry(msgid="Ticket #%(number)s", msgstr="Vorgang #%(nummer)s"))
    po.append(polib.POEntry(msgid="Reply", msgstr=""))
    po.append(polib.POEntry(msgid="Close", msgstr="Schließen", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="<b>Due</b> {{ when }}", msgstr="<b>Fällig</b> {{ wann }}"))
    po.append(polib.POEntry(msgid="Sent\n", msgstr="Gesendet"))
    po.append(
        polib.POEntry(
            msgid="%(n)d ticket",
            msgid_plural="%(n)d tickets",
            msgstr_plural={0: "ein Ticket", 1: "Tickets"},
        )
    )
    po.append(polib.POEntry(msgid="Fine %(who)s", msgstr="Gut %(who)s"))
    path = tmp_path / "django.po"
    po.save(str(path))
    found = "\n".join(i18n.problems(path))
    assert "'Ticket #%(number)s': placeholders" in found
    assert "'Reply' is untranslated" in found
    assert "'Close' is fuzzy" in found
    assert "{{ when }}" in found
    assert "ends with a line break" in found
    assert "in the last form" in found
    assert "Fine" not in found
    assert len(i18n.problems(path)) == 6


class _MakemessagesIntoCopy(makemessages.Command):
    """makemessages writing every file's strings into the copy `into`: the stock command
    sends them to the first `locale` directory its walk meets (the project's own), which
    would rewrite the shipped catalogues whenever a string is new."""

    into = ""

    def find_files(self, root):
        files = super().find_files(root)
        for found in files:
            found.locale_dir = self.into
        return files


def test_the_code_has_no_string_the_catalogues_lack(tmp_path):
    """makemessages into a copy of a catalogue: an entry it adds is a string written
    since the last `make messages` (untranslated in every language)."""
    code = LANGUAGES[0]
    original = i18n.catalogue(code).parent.parent.parent
    copy = tmp_path / "locale"
    shutil.copytree(original / i18n.locale_name(code), copy / i18n.locale_name(code))
    command = _MakemessagesIntoCopy()
    command.into = str(copy)
    with override_settings(LOCALE_PATHS=[copy]):
        for domain in i18n.DOMAINS:
            call_command(
                command,
                locale=[i18n.locale_name(code)],
                domain=domain,
                ignore_patterns=i18n.IGNORE,
                no_obsolete=True,
                no_location=True,
                no_wrap=True,
                verbosity=0,
            )
            shipped = polib.pofile(str(i18n.catalogue(code, domain, original)))
            before = {(e.msgctxt, e.msgid) for e in shipped}
            after = {
                (e.msgctxt, e.msgid) for e in polib.pofile(str(i18n.catalogue(code, domain, copy)))
            }
            assert not after - before, (
                f"not in the {domain} catalogues yet (run make messages): "
                f"{sorted(after - before)[:20]}"
            )
            assert not before - after, f"no longer in the code: {sorted(before - after)[:20]}"
