"""Keyset pagination for queues: every page, the first or the ten-thousandth, is one
index range scan of `size + 1` rows after the last row seen, never an OFFSET.

A cursor is an opaque token: (sort key, last value, last id, direction). Ties on the
sort value are broken by id. A cursor that does not decode, or belongs to another sort,
gives the first page.
"""

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime


@dataclass(frozen=True)
class Sort:
    key: str  # what the URL says, e.g. "updated"
    field: str  # the ORM path, e.g. "updated_at" or "priority__urgency"
    label: str


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    previous_cursor: str | None
    size: int


def _value(obj, path: str):
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj


def encode(sort_key: str, obj, field: str, back: bool) -> str:
    value = _value(obj, field)
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    raw = json.dumps({"s": sort_key, "v": value, "i": obj.pk, "b": back}).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(raw: str, sort_key: str, field: str):
    """(value, pk, back) or None when the cursor is not one of ours for this sort."""
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"==="))
        if data["s"] != sort_key:
            return None
        value, pk, back = data["v"], int(data["i"]), bool(data["b"])
        if not 0 < pk < 2**63:
            return None
        if field.endswith("_at"):
            value = parse_datetime(value) if isinstance(value, str) else None
            if value is None:
                return None
        elif not isinstance(value, str | int) or isinstance(value, bool):
            return None
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error, AttributeError):
        return None
    return value, pk, back


def paginate(
    queryset: QuerySet, *, sort: Sort, descending: bool, cursor: str | None, size: int
) -> Page:
    field = sort.field
    sort_key = ("-" if descending else "") + sort.key
    position = decode(cursor, sort_key, field) if cursor else None
    back = False
    if position is not None:
        value, pk, back = position
        if descending != back:
            near = Q(**{f"{field}__lte": value}) & ~Q(**{field: value, "pk__gte": pk})
        else:
            near = Q(**{f"{field}__gte": value}) & ~Q(**{field: value, "pk__lte": pk})
        queryset = queryset.filter(near)
    walk_desc = descending != back
    order = (f"-{field}", "-pk") if walk_desc else (field, "pk")
    rows = list(queryset.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if back:
        rows.reverse()
    has_next = more if not back else position is not None
    has_previous = position is not None if not back else more
    return Page(
        rows=rows,
        next_cursor=encode(sort_key, rows[-1], field, False) if has_next and rows else None,
        previous_cursor=encode(sort_key, rows[0], field, True) if has_previous and rows else None,
        size=size,
    )
