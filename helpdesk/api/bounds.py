"""Input of the API before any work: form bodies read as JSON ones, and every list
checked against its maximum (helpdesk.limits) before a field is validated.

DRF validates a list item by item, a related id with one query each, and checks a
ListField's length only afterwards: a body of a million ids would run a million
queries before its refusal. `validate` counts first and answers 400 at once.
"""

from django.http import QueryDict
from rest_framework import serializers
from rest_framework.utils import html

from .problems import InvalidInput, Problem

LIST_FIELDS = (serializers.ListField, serializers.ListSerializer, serializers.ManyRelatedField)


def max_items(field) -> int | None:
    """The declared maximum of a list or dict field; None for other fields."""
    if isinstance(field, (*LIST_FIELDS, serializers.DictField)):
        return getattr(field, "max_length", None)
    return None


def plain_data(fields, data):
    """A form body (QueryDict) as the dict a JSON body would be: lists for list fields,
    dicts for dict fields, the last value otherwise. DRF reads form bodies with HTML
    rules (a missing boolean is False, not its default); JSON rules apply to both."""
    if not isinstance(data, QueryDict):
        return data
    out: dict[str, object] = {}
    for name in data:
        field = fields.get(name)
        if isinstance(field, LIST_FIELDS):
            out[name] = data.getlist(name)
        else:
            out[name] = data[name]
    for name, field in fields.items():
        if isinstance(field, serializers.DictField):
            found = html.parse_html_dict(data, prefix=name, default=None)
            if found is not None:
                out[name] = dict(found)
    return out


def check_lists(fields, data, limits: dict | None = None) -> None:
    """400 naming every list over its maximum; `limits` narrows some for this caller."""
    if not isinstance(data, dict):
        return  # DRF answers "expected a dictionary"
    limits = limits or {}
    errors = {}
    for name, value in data.items():  # what was given: a body names few of the fields
        if not isinstance(value, list | dict) or name not in fields:
            continue
        limit = limits.get(name, max_items(fields[name]))
        if limit is not None and len(value) > limit:
            errors[name] = [f"At most {limit} items ({len(value)} given)."]
    if errors:
        errors = {name: errors[name] for name in fields if name in errors}  # fields' order
        name = next(iter(errors))
        raise Problem(400, f"{name}: {errors[name][0]}", "too_many_items", errors)


def validate(serializer, limits: dict | None = None) -> dict:
    """The serializer's validated data, or a problem (400 for lists over their bounds,
    422 for invalid values). `serializer` was built with data=."""
    fields = serializer.fields
    serializer.initial_data = plain_data(fields, serializer.initial_data)
    check_lists(fields, serializer.initial_data, limits)
    if not serializer.is_valid():
        raise InvalidInput(serializer.errors)
    return serializer.validated_data
