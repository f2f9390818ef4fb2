"""Content in the reader's language: translations stored beside the original.

Each translatable model has a `translations` JSONField, {language: {field: text}}, e.g.
{"fr": {"name": "Facturation"}, "de": {"name": "Abrechnung"}}. The JSON comes with the
row, so showing a list in the reader's language costs no query. `translated(obj, field)`
picks the text: the active language's, else its base language's ("pt-br" -> "pt"), else
the original. Admins edit them in the admin (`TranslationsAdminMixin` in
helpdesk.translations_admin); `clean_translations` is the one check of what may be
stored (known languages and fields, text within the field's length, HTML sanitised as
the original field is).

Which models and fields: `TRANSLATABLE`. A field's kind says how it is checked: "text"
(one line or plain text), "lines" (one option per line, in the original's order) and
"html" (sanitised HTML, as the original).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.languages import base_of, codes
from threads.html import html_to_text, sanitize_html

TEXT, LINES, HTML = "text", "lines", "html"

# model label -> {field: kind}, in the order the admin shows them.
TRANSLATABLE: dict[str, dict[str, str]] = {
    "tickets.ticketstatus": {"name": TEXT, "client_name": TEXT},
    "tickets.customfield": {"label": TEXT, "help_text": TEXT, "choices": LINES},
    "routing.helptopic": {"name": TEXT},
    "helpdesk_kb.cannedresponse": {"title": TEXT, "body_html": HTML},
    "helpdesk_kb.faqcategory": {"name": TEXT, "description": HTML},
    "helpdesk_kb.faq": {"question": TEXT, "answer_html": HTML},
    "helpdesk_portal.portalsettings": {"welcome_text": TEXT},
}


def fields_of(model: type[models.Model] | models.Model) -> dict[str, str]:
    """{field: kind} of a model's translatable fields (empty: none)."""
    return TRANSLATABLE.get(model._meta.label_lower, {})


def candidates(language: str | None = None) -> list[str]:
    """The languages tried, in order: the language ("pt-br"), then its base ("pt")."""
    code = (language or translation.get_language() or "").lower()
    if not code:
        return []
    return list(dict.fromkeys([code, base_of(code)]))


def translated(obj: Any, field: str, language: str | None = None) -> str:
    """`obj.field` in `language` (None: the active language), else in its base
    language, else the original. Never a query: the translations come with the row."""
    original = getattr(obj, field, "")
    table = getattr(obj, "translations", None)
    if not table or not isinstance(table, Mapping):
        return original
    for code in candidates(language):
        entry = table.get(code)
        value = entry.get(field) if isinstance(entry, Mapping) else None
        if isinstance(value, str) and value.strip():
            return value
    return original


def translated_options(field_obj: Any, language: str | None = None) -> list[tuple[str, str]]:
    """(stored value, label) of a choice field's options: the value is the original
    option (what is stored and filtered on), the label its translation (line by line;
    a line left empty, or missing, shows the original)."""
    originals = list(field_obj.options)
    text = translated(field_obj, "choices", language)
    if text == field_obj.choices:
        return [(o, o) for o in originals]
    lines = [line.strip() for line in text.splitlines()]
    return [(o, (lines[i] if i < len(lines) and lines[i] else o)) for i, o in enumerate(originals)]


def topic_name(topic: Any, language: str | None = None) -> str:
    """A help topic's full name ("Parent / Child"), each part translated. Uses the
    parents already loaded (select_related or the cached rows)."""
    parts = []
    node, seen = topic, set()
    while node is not None and node.pk not in seen:
        seen.add(node.pk)
        parts.append(translated(node, "name", language))
        node = node.parent if node.parent_id else None
    return " / ".join(reversed(parts))


def category_name(category: Any, language: str | None = None) -> str:
    """An FAQ category's full name, each part translated."""
    return topic_name(category, language)


def status_name(status: Any, *, for_client: bool, language: str | None = None) -> str:
    """A status as a client (its client-facing name) or an agent sees it, translated."""
    if for_client:
        label = translated(status, "client_name", language)
        if label:
            return label
    return translated(status, "name", language)


def language_of(user: Any, *, is_agent: bool, ticket: Any = None) -> str:
    """The language to write to `user` in: an agent's panel preference; a client's
    portal preference, else the language `ticket` recorded; else the site's
    (settings.LANGUAGE_CODE). Read through the user's reverse relations."""
    relation = "panel_preferences" if is_agent else "portal_preferences"
    try:
        chosen = getattr(user, relation).language
    except (ObjectDoesNotExist, AttributeError):
        chosen = ""
    if not chosen and not is_agent and ticket is not None:
        chosen = getattr(ticket, "language", "")
    return chosen if chosen in codes() else settings.LANGUAGE_CODE


def client_language(ticket: Any) -> str:
    """The language of a ticket's client (its requester), for what is written to them."""
    return language_of(ticket.requester, is_agent=False, ticket=ticket)


# --- what may be stored -----------------------------------------------------------------


def _limit(model: type[models.Model], field: str) -> int | None:
    return getattr(model._meta.get_field(field), "max_length", None)


def clean_translations(model: type[models.Model], value: Any) -> dict[str, dict[str, str]]:
    """The translations to store for a row of `model`, checked: a JSON object of known
    languages (settings.LANGUAGES), each an object of the model's translatable fields
    with text values within the field's length; HTML sanitised as the original is;
    empty values dropped. Raises ValidationError naming what is wrong."""
    known = fields_of(model)
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(_('Translations are a JSON object: {"fr": {"name": "..."}}.'))
    errors: list[str] = []
    out: dict[str, dict[str, str]] = {}
    languages = codes()
    for language, entry in value.items():
        if language not in languages:
            errors.append(
                _("Unknown language %(code)r: use one of %(codes)s.")
                % {"code": language, "codes": ", ".join(languages)}
            )
            continue
        if not isinstance(entry, Mapping):
            errors.append(_("The translations in %(code)s are not an object.") % {"code": language})
            continue
        for field, text in entry.items():
            if field not in known:
                errors.append(
                    _("Unknown field %(field)r in %(code)s: translatable are %(fields)s.")
                    % {"field": field, "code": language, "fields": ", ".join(known) or "none"}
                )
                continue
            cleaned = _clean_text(model, field, known[field], text, language, errors)
            if cleaned:
                out.setdefault(language, {})[field] = cleaned
    if errors:
        raise ValidationError(errors)
    return out


def _clean_text(
    model: type[models.Model], field: str, kind: str, text: Any, language: str, errors: list[str]
) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        errors.append(_("%(field)s in %(code)s is not text.") % {"field": field, "code": language})
        return ""
    text = text.replace("\r\n", "\n").strip()
    if kind == HTML:
        text = sanitize_html(text)
        return text if html_to_text(text) else ""
    if kind == LINES:
        return "\n".join(line.strip() for line in text.splitlines())
    limit = _limit(model, field)
    if limit is not None and len(text) > limit:
        errors.append(
            _("%(field)s in %(code)s is longer than %(limit)d characters.")
            % {"field": field, "code": language, "limit": limit}
        )
        return ""
    return text


# --- form fields offering translated rows -----------------------------------------------


class TopicChoiceField(forms.ModelChoiceField):
    """Help topics by their full name in the reader's language."""

    def label_from_instance(self, obj: Any) -> str:
        return topic_name(obj)


class StatusChoiceField(forms.ModelChoiceField):
    """Ticket statuses by their name in the agent's language."""

    def label_from_instance(self, obj: Any) -> str:
        return status_name(obj, for_client=False)
