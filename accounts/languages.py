"""Language codes as the helpdesk knows them (settings.LANGUAGES): which ones there are,
and what a language tag from outside (a mail's Content-Language, a browser, an API
caller) names among them. The lowest layer, so every app may ask."""

from __future__ import annotations

from django.conf import settings

# Tags whose shipped code is not their first subtag (lower case; a region or script
# decides): Brazilian Portuguese and Simplified Chinese are shipped as such.
ALIASES = {
    "pt": "pt-br",
    "pt-br": "pt-br",
    "zh": "zh-hans",
    "zh-cn": "zh-hans",
    "zh-sg": "zh-hans",
    "zh-hans": "zh-hans",
    "zh-hans-cn": "zh-hans",
}


def codes() -> list[str]:
    """Every language of settings.LANGUAGES (the source language, English, too)."""
    return [code for code, _name in settings.LANGUAGES]


def shipped() -> list[str]:
    """The languages with a catalogue: LANGUAGES without the source language."""
    return [code for code in codes() if code != "en"]


def name_of(code: str) -> str:
    return dict(settings.LANGUAGES).get(code, code)


def base_of(code: str) -> str:
    """ "pt-br" -> "pt", "zh-hans" -> "zh"; a plain code is its own base."""
    return code.split("-", 1)[0]


def shipped_code(tag: str | None) -> str:
    """The LANGUAGES code a language tag or a header's list of them names: its first
    tag ("fr-FR, en" -> "fr"), "pt-BR" -> "pt-br", "zh-CN" and "zh-Hans" -> "zh-hans";
    "" for a tag of a language we do not have, or nothing usable."""
    first = (tag or "").split(",", 1)[0].split(";", 1)[0].strip().lower().replace("_", "-")
    if not first or len(first) > 35:
        return ""
    known = codes()
    if first in known:
        return first
    if first in ALIASES and ALIASES[first] in known:
        return ALIASES[first]
    # a script or region we do not ship apart: the language itself ("fr-ca" -> "fr"),
    # unless it is Chinese in another script (zh-TW, zh-Hant: not Simplified Chinese)
    base = base_of(first)
    if base == "zh":
        return ""
    return base if base in known else ""
