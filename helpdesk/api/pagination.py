"""Keyset (cursor) pagination: every page, first or ten-thousandth, is one index range
scan of `page_size + 1` rows, so deep pages are as fast as the first.

The cursor is an opaque token encoding (ordering, last value, last id, direction). The
ordering is chosen from a whitelist with `?ordering=`; ties are broken by id.
"""

from urllib.parse import urlencode

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from helpdesk import keyset

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
        values = request.query_params.getlist(self.ordering_query_param)
        if not values:
            return allowed[0]
        value = values[-1]
        if len(values) > 1 or value not in allowed:
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

    @staticmethod
    def _decode(raw: str, ordering: str):
        position = keyset.decode(raw, ordering, ordering.lstrip("-"))
        if position is None:
            raise ValidationError(
                {"cursor": ["Invalid cursor: use the next or previous link as given."]}
            )
        return position

    @staticmethod
    def _encode(ordering: str, obj, field: str, back: bool) -> str:
        return keyset.encode(ordering, obj, field, back)

    def _known_parameters(self, view) -> set[str]:
        known = {self.cursor_query_param, self.page_size_query_param, self.ordering_query_param}
        filterset = getattr(view, "filterset_class", None)
        if filterset is not None and getattr(view, "filter_backends", None):
            known |= set(filterset.base_filters)
        return known | {"format"}

    def _check_parameters(self, request, view) -> None:
        """A parameter the list does not know is an error: a typo in a filter's name
        would otherwise answer every row."""
        unknown = sorted(set(request.query_params) - self._known_parameters(view))
        if unknown:
            raise ValidationError({name: ["Unknown parameter."] for name in unknown})
        for name in (self.cursor_query_param, self.page_size_query_param):
            if len(request.query_params.getlist(name)) > 1:
                raise ValidationError({name: ["Give this parameter once."]})

    def paginate_queryset(self, queryset, request, view=None):
        self._check_parameters(request, view)
        self.request = request
        self.ordering = ordering = self._ordering(request, view)
        self.size = size = self._page_size(request)
        field = ordering.lstrip("-")
        descending = ordering.startswith("-")
        raw = request.query_params.get(self.cursor_query_param)
        position = self._decode(raw, ordering) if raw is not None else None
        page = keyset.walk(
            queryset, field=field, descending=descending, position=position, size=size
        )
        rows = page.rows
        self.has_next, self.has_previous = page.has_next, page.has_previous
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
                "schema": {"type": "string", "minLength": 1},
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
