"""Keyset (cursor) pagination: every page, first or ten-thousandth, is one index range
scan of `page_size + 1` rows, so deep pages are as fast as the first.

The cursor is an opaque token encoding (ordering, last value, last id, direction). The
ordering is chosen from a whitelist with `?ordering=`; ties are broken by id.
"""

import base64
import binascii
import datetime as dt
import json
from urllib.parse import urlencode

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


class KeysetPagination(BasePagination):
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    ordering_query_param = "ordering"
    # field -> default direction; a view sets `orderings` (whitelist) and `default_ordering`
    default_orderings = ("-created_at", "created_at")

    def _orderings(self, view):
        return tuple(getattr(view, "orderings", None) or self.default_orderings)

    def _ordering(self, request, view) -> str:
        allowed = self._orderings(view)
        value = request.query_params.get(self.ordering_query_param)
        if value is None:
            return allowed[0]
        if value not in allowed:
            raise ValidationError({"ordering": [f"Choose one of: {', '.join(allowed)}."]})
        return value

    def _page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {"page_size": [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def _decode(self, raw: str, ordering: str) -> tuple:
        try:
            data = json.loads(base64.urlsafe_b64decode(raw.encode("ascii") + b"==="))
            if data["o"] != ordering:
                raise ValueError("ordering changed")
            value, pk, back = data["v"], int(data["i"]), bool(data["b"])
            if not -(2**63) < pk < 2**63:
                raise ValueError("id")
            if isinstance(value, str) and ordering.lstrip("-").endswith("_at"):
                value = parse_datetime(value)
                if value is None:
                    raise ValueError("date")
            elif not isinstance(value, str | int) or isinstance(value, bool):
                raise ValueError("value")
        except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
            raise ValidationError(
                {"cursor": ["Invalid cursor: use the next or previous link as given."]}
            ) from None
        return value, pk, back

    @staticmethod
    def _encode(ordering: str, obj, field: str, back: bool) -> str:
        value = getattr(obj, field)
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        raw = json.dumps({"o": ordering, "v": value, "i": obj.pk, "b": back}).encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.ordering = ordering = self._ordering(request, view)
        self.size = size = self._page_size(request)
        field = ordering.lstrip("-")
        descending = ordering.startswith("-")
        raw = request.query_params.get(self.cursor_query_param)
        back = False
        if raw:
            value, pk, back = self._decode(raw, ordering)
            # rows after the cursor in walking order, as (field, id) beyond (value, pk):
            # an index range on the field, minus the cursor's own tie-group up to it
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
        self.has_next = more if not back else bool(raw)
        self.has_previous = bool(raw) if not back else more
        self.rows = rows
        self.field = field
        return rows

    def _link(self, obj, back: bool) -> str:
        params = self.request.query_params.copy()
        params[self.cursor_query_param] = self._encode(self.ordering, obj, self.field, back)
        url = self.request.build_absolute_uri(self.request.path)
        return f"{url}?{urlencode(sorted(params.lists()), doseq=True)}"

    def get_next_link(self):
        if not (self.has_next and self.rows):
            return None
        return self._link(self.rows[-1], back=False)

    def get_previous_link(self):
        if not (self.has_previous and self.rows):
            return None
        return self._link(self.rows[0], back=True)

    def get_paginated_response(self, data):
        return Response(
            {"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data}
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        orderings = list(self._orderings(view))
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque position from a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}, at most "
                f"{self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
            {
                "name": self.ordering_query_param,
                "required": False,
                "in": "query",
                "description": "Sort order; ties are broken by id.",
                "schema": {"type": "string", "enum": orderings},
            },
        ]
