"""Keyset pagination, shared by the API's lists and the panel's queues: every page, the
first or one a million rows deep, is one index range scan of `size + 1` rows beyond the
last row seen, never an OFFSET.

A cursor is an opaque token holding (what the list is sorted by, the last value, the
last id, the direction). Ties on the sort value are broken by id.
"""

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

Position = tuple[object, int, bool]  # (value, id, walking back)


def _value(obj, path: str):
    for part in path.split("__"):
        obj = getattr(obj, part)
    return obj


def encode(sort_key: str, obj, field: str, back: bool) -> str:
    value = _value(obj, field)
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    raw = json.dumps({"k": sort_key, "v": value, "i": obj.pk, "b": back}).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(raw: str, sort_key: str, field: str, *, numeric: bool = False) -> Position | None:
    """The cursor's position, or None when it is not one of ours for this sort. A
    `numeric` field's value (and a key's, `id`) must be an integer."""
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"==="))
        if data["k"] != sort_key:
            return None
        value, pk, back = data["v"], int(data["i"]), bool(data["b"])
        if not 0 < pk < 2**63:
            return None
        if field.endswith("_at"):
            value = parse_datetime(value) if isinstance(value, str) else None
            # ours carry their offset and exist in UTC (the database compares in UTC:
            # 9999-12-31T23:59-01:00 would overflow there)
            if value is None or value.tzinfo is None:
                return None
            value.astimezone(dt.UTC)
        elif not isinstance(value, str | int) or isinstance(value, bool):
            return None
        elif (numeric or field in ("id", "pk")) and not isinstance(value, int):
            return None  # a string where the column holds integers
        if isinstance(value, int) and not -(2**63) < value < 2**63:
            return None  # no integer column holds it
    except (
        ValueError,
        KeyError,
        TypeError,
        UnicodeError,
        binascii.Error,
        AttributeError,
        OverflowError,
    ):
        return None
    return value, pk, back


@dataclass(frozen=True)
class Walk:
    rows: list
    has_next: bool
    has_previous: bool


def page_of(
    queryset: QuerySet, *, field: str, descending: bool, position: Position | None, size: int
) -> QuerySet:
    """The statement of one page of `queryset` sorted by (field, id): `size + 1` rows
    after (or, walking back, before) the position, an index range on the field minus the
    position's own tie-group up to it. `walk` reads it."""
    back = False
    if position is not None:
        value, pk, back = position
        if descending != back:
            near = Q(**{f"{field}__lte": value}) & ~Q(**{field: value, "pk__gte": pk})
        else:
            near = Q(**{f"{field}__gte": value}) & ~Q(**{field: value, "pk__lte": pk})
        queryset = queryset.filter(near)
    order = (f"-{field}", "-pk") if descending != back else (field, "pk")
    return queryset.order_by(*order)[: size + 1]


def walk(
    queryset: QuerySet | None,
    *,
    field: str,
    descending: bool,
    position: Position | None,
    size: int,
    read: Callable[[Position | None], list] | None = None,
) -> Walk:
    """One page of `queryset` (`page_of`'s rows), or of what `read(position)` reads:
    the same statement, read another way (a statement compiled once:
    accounts.compiled.KeptSelect)."""
    if read is not None:
        rows = read(position)
    else:
        assert queryset is not None
        statement = page_of(
            queryset, field=field, descending=descending, position=position, size=size
        )
        rows = list(statement)
    back = position is not None and position[2]
    more = len(rows) > size
    rows = rows[:size]
    if back:
        rows.reverse()
    started = position is not None
    return Walk(
        rows=rows,
        has_next=more if not back else started,
        has_previous=started if not back else more,
    )
