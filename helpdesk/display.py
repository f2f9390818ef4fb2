"""Values a template reads on a model instance that the model does not hold (an entry's
body as the panel renders it, a search hit's matched sources, ...): set by the code that
prepares the page, and named where they are set."""

from collections.abc import Iterable
from typing import Any

from django.utils import dateformat, timezone
from django.utils.formats import get_format


def shown(obj: object, **values: object) -> None:
    """Set `values` on `obj` for the template."""
    for name, value in values.items():
        setattr(obj, name, value)


def dated(items: Iterable[Any]) -> None:
    """Set `kind_label`, `at_iso` and `at_short` (created_at in the active time zone, as
    the `date` filter's "c" and SHORT_DATETIME_FORMAT give it) on thread entries or
    events: a long thread's template would otherwise translate the kind and format both
    dates once per item (about a third of a 200-entry ticket page's time)."""
    fmt = get_format("SHORT_DATETIME_FORMAT")
    labels: dict[tuple[type, str], str] = {}
    for item in items:
        key = (type(item), item.kind)
        if key not in labels:
            choices = dict(item._meta.get_field("kind").flatchoices)
            labels[key] = str(choices.get(item.kind, item.kind))
        at = timezone.localtime(item.created_at)
        shown(
            item,
            kind_label=labels[key],
            at_iso=at.isoformat(),
            at_short=dateformat.format(at, fmt),
        )
