"""The translation catalogues we ship (locale/<lang>/LC_MESSAGES/django.po, compiled to
django.mo): which languages, how they are brought up to date with the code
(`manage.py update_catalogues`, `make messages`), and what makes one complete (`problems`,
asserted for every shipped language by tests/i18n)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.utils import translation

# Folders whose strings are not the product's (makemessages walks the whole project).
IGNORE = [
    ".venv",
    "var",
    "tests",
    "bench",
    "deploy",
    "docs",
    "static/vendor",
    "test-artifacts",
    "node_modules",
]
DOMAINS = ("django", "djangojs")


def shipped() -> list[str]:
    """The language codes with a catalogue (every one in LANGUAGES but the source's)."""
    return [code for code, _name in settings.LANGUAGES if code != "en"]


def locale_name(code: str) -> str:
    """pt-br -> pt_BR, zh-hans -> zh_Hans: the folder a language's catalogue lives in."""
    return translation.to_locale(code)


def catalogue(code: str, domain: str = "django", root: Path | None = None) -> Path:
    root = root or Path(settings.LOCALE_PATHS[0])
    return root / locale_name(code) / "LC_MESSAGES" / f"{domain}.po"


def fill_header(path: Path, code: str) -> None:
    """A new catalogue's header says which language it is for (makemessages leaves a
    template's placeholders and marks it fuzzy); an existing one is left as it is."""
    import polib

    po = polib.pofile(str(path), wrapwidth=0)
    if not po.metadata_is_fuzzy and po.metadata.get("Language"):
        return
    po.header = "Translations of the helpdesk. Terms: glossary.md beside LC_MESSAGES."
    po.metadata.update(
        {
            "Project-Id-Version": "helpdesk",
            "Language": locale_name(code),
            "Language-Team": locale_name(code),
            "Last-Translator": "helpdesk",
            "PO-Revision-Date": "2026-12-05 12:00+0000",
        }
    )
    po.metadata.pop("Report-Msgid-Bugs-To", None)
    po.metadata_is_fuzzy = False
    po.save(str(path))


# What must come through a translation unchanged (as a multiset; the order may change):
# template variables and tags (mail templates' defaults), printf-style and named
# placeholders, str.format fields, HTML tags, entities.
_PLACEHOLDER = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}"
    r"|%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|\{[A-Za-z_][\w.]*\}|\{\d*\}"
    r"|</?[A-Za-z][^>]*>"
    r"|&[a-z]+;|&#\d+;"
)


def placeholders(text: str) -> Counter[str]:
    return Counter(_PLACEHOLDER.findall(text.replace("%%", "")))


def problems(path: Path) -> list[str]:
    """Why a catalogue is not complete: untranslated or fuzzy entries, placeholders that
    differ from the English, a translation that does not keep the English's leading or
    trailing line break. Empty when it may ship."""
    import polib  # a development dependency: the catalogues are checked, not read, here

    found: list[str] = []
    po = polib.pofile(str(path))
    for entry in po:
        if entry.obsolete:
            continue
        where = f"{path.parent.parent.name}: {entry.msgid[:60]!r}"
        if "fuzzy" in entry.flags:
            found.append(f"{where} is fuzzy")
        if entry.msgid_plural:
            forms = [entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural)]
            if not forms or not all(forms):
                found.append(f"{where} has an untranslated plural form")
                continue
            wanted = placeholders(entry.msgid_plural)
            if placeholders(forms[-1]) != wanted:
                found.append(
                    f"{where}: placeholders {dict(placeholders(forms[-1]))} "
                    f"in the last form, not {dict(wanted)}"
                )
            allowed = set(wanted) | set(placeholders(entry.msgid))
            for form in forms[:-1]:
                extra = set(placeholders(form)) - allowed
                if extra:
                    found.append(f"{where}: unknown placeholders {sorted(extra)}")
            pairs: Iterable[tuple[str, str]] = [(entry.msgid_plural, f) for f in forms]
        else:
            if not entry.msgstr:
                found.append(f"{where} is untranslated")
                continue
            if placeholders(entry.msgstr) != placeholders(entry.msgid):
                found.append(
                    f"{where}: placeholders {dict(placeholders(entry.msgstr))}, "
                    f"not {dict(placeholders(entry.msgid))}"
                )
            pairs = [(entry.msgid, entry.msgstr)]
        for source, text in pairs:
            for edge, test in (("starts", str.startswith), ("ends", str.endswith)):
                if test(source, "\n") != test(text, "\n"):
                    found.append(
                        f"{where}: the translation {edge} with a line break unlike the English"
                    )
    return found
