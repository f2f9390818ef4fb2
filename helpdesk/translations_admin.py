"""The admin's editor of translated content (helpdesk.translations): one mixin for every
translatable model's ModelAdmin. It adds a collapsed "Translations" section with one
input per (translatable field, shipped language), and an optional box to paste them as
JSON (merged over the inputs), checked by `clean_translations`: an unknown language or
field is refused with the reason, and nothing is saved."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.admin_services import was_refused
from accounts.languages import name_of, shipped

from .translations import HTML, LINES, clean_translations, fields_of

PASTE = "translations_json"


def input_name(field: str, language: str) -> str:
    return f"tr__{language}__{field}"


def _label(model, field: str, language: str) -> str:
    verbose = model._meta.get_field(field).verbose_name
    return f"{str(verbose).capitalize()} ({name_of(language)}, {language})"


def _inputs(model) -> dict[str, forms.Field]:
    """The form fields of a model's translations: one per (field, shipped language),
    and the box to paste them as JSON."""
    out: dict[str, forms.Field] = {}
    for language in shipped():
        for field, kind in fields_of(model).items():
            widget: forms.Widget = (
                forms.Textarea(attrs={"rows": 4 if kind == HTML else 3, "cols": 80})
                if kind in (HTML, LINES) or _is_long(model, field)
                else forms.TextInput(attrs={"size": 60})
            )
            out[input_name(field, language)] = forms.CharField(
                label=_label(model, field, language), required=False, widget=widget
            )
    out[PASTE] = forms.CharField(
        label=_("Paste translations as JSON"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text=_(
            'Optional, merged over the inputs above: {"fr": {"%(field)s": "..."}}. '
            "Languages: %(codes)s."
        )
        % {"field": next(iter(fields_of(model)), "name"), "codes": ", ".join(shipped())},
    )
    return out


def translations_form(base: type[forms.ModelForm], model) -> type[forms.ModelForm]:
    """`base` (an admin's form) with the translation inputs declared on it."""
    if issubclass(base, TranslationsForm):
        return base
    return type(f"Translations{base.__name__}", (TranslationsForm, base), _inputs(model))


class TranslationsForm(forms.ModelForm):
    """The translation inputs' values come from the row's JSON; the JSON to store is
    made from them in `clean` (the JSON field itself is not in the form)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.translations
        stored = stored if isinstance(stored, dict) else {}
        for language in shipped():
            for field in fields_of(self._meta.model):
                name = input_name(field, language)
                if name in self.fields:
                    entry = stored.get(language)
                    value = entry.get(field, "") if isinstance(entry, dict) else ""
                    self.fields[name].initial = value

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or self.cleaned_data
        model = self._meta.model
        table: dict[str, dict[str, str]] = {}
        for language in shipped():
            for field in fields_of(model):
                text = cleaned.get(input_name(field, language)) or ""
                if text:
                    table.setdefault(language, {})[field] = text
        pasted = (cleaned.get(PASTE) or "").strip()
        if pasted:
            try:
                extra = json.loads(pasted)
            except ValueError as exc:
                self.add_error(PASTE, _("Not valid JSON: %(error)s") % {"error": exc})
                return cleaned
            if not isinstance(extra, dict):
                self.add_error(PASTE, _('Translations are a JSON object: {"fr": {...}}.'))
                return cleaned
            for language, entry in extra.items():
                if isinstance(entry, dict) and isinstance(table.get(language), dict):
                    table[language] = {**table[language], **entry}
                else:
                    table[language] = entry
        try:
            self.instance.translations = clean_translations(model, table)
        except forms.ValidationError as exc:
            self.add_error(PASTE if pasted else None, exc)
        return cleaned


def _is_long(model, field: str) -> bool:
    limit = getattr(model._meta.get_field(field), "max_length", None)
    return limit is None or limit > 255


class TranslationsAdminMixin:
    """Mix into a ModelAdmin of a model listed in helpdesk.translations.TRANSLATABLE
    (before admin.ModelAdmin). A form of the admin's own is given the inputs too."""

    translations_collapsed = True
    model: type[models.Model]  # the ModelAdmin's

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = kwargs.get("form") or getattr(self, "form", None) or forms.ModelForm
        kwargs["form"] = translations_form(base, self.model)
        return super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]

    def get_exclude(self, request, obj=None):
        # the JSON itself is not an input: it is made from the per-language inputs
        excluded = super().get_exclude(request, obj)  # type: ignore[misc]
        return [*(excluded or ()), "translations"]

    def get_fieldsets(self, request, obj=None):
        names = [input_name(f, lang) for lang in shipped() for f in fields_of(self.model)]
        fieldsets = [
            (title, {**opts, "fields": [f for f in opts["fields"] if f not in (*names, PASTE)]})
            for title, opts in super().get_fieldsets(request, obj)  # type: ignore[misc]
        ]
        classes = ["collapse"] if self.translations_collapsed else []
        return [
            *fieldsets,
            (
                _("Translations"),
                {
                    "classes": classes,
                    "description": _(
                        "Shown to readers in that language; a field left empty shows the "
                        "original. Options of a choice field: one per line, in the "
                        "original's order."
                    ),
                    "fields": [*names, PASTE],
                },
            ),
        ]

    def save_model(self, request, obj, form, change):
        table = obj.translations  # checked by the form's clean
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        if was_refused(request) or obj.pk is None:
            return  # the service refused the save: nothing is written
        # an admin whose service makes a row of its own (FAQs, categories) saved the
        # original fields only: the checked JSON is written on the row it saved
        rows = type(obj).objects.filter(pk=obj.pk)
        if rows.values_list("translations", flat=True).first() != table:
            rows.update(translations=table)
        obj.translations = table

    @admin.display(description=_("translated into"))
    def translated_into(self, obj) -> str:
        table = obj.translations if isinstance(obj.translations, dict) else {}
        return ", ".join(sorted(table)) or "—"
