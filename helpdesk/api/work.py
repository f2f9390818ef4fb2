"""What the ticket and task endpoints share (views_tickets, views_tasks).

A ticket or a task is read by number through its visibility selector (404 before
anything else), a change is one service call (channel `api`) declared with
`change_action`, run under If-Match (`concurrency.guarded`: 412) in one transaction, and
the answer is the object as saved, with its version as ETag.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from django.db.models import Model, QuerySet
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from threads import selectors as thread_selectors
from threads.models import ThreadEntry
from tickets.models import Task, Ticket

from . import bounds
from . import serializers as s
from .base import ApiMixin
from .concurrency import Work, etag, guarded
from .pagination import KeysetPagination
from .permissions import actor_of
from .selectors import with_related, with_task_related

API = "api"
NUMBER_REGEX = r"[A-Za-z0-9_-]{1,32}"
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The ETag of the ticket (or task) as you read it; the change is refused "
    "with 412 if it moved on.",
)


def validated(serializer_class, data, **context):
    """Lists bounded before anything else (400), then the values (422)."""
    return bounds.validate(serializer_class(data=data, context=context))


@dataclass(frozen=True)
class Resource:
    serializer: type[BaseSerializer[Any]]
    route: str  # its detail route, by number
    related: Callable[[Any], Any]  # the queryset with what the serializer reads


RESOURCES: dict[type[Model], Resource] = {
    Ticket: Resource(s.TicketSerializer, "api:ticket-detail", with_related),
    Task: Resource(s.TaskSerializer, "api:task-detail", with_task_related),
}


def fresh(obj: Work) -> Work:
    """The row read again, with what it answers with."""
    model = type(obj)
    queryset: QuerySet[Any] = model.objects.filter(pk=obj.pk)
    return RESOURCES[model].related(queryset).get()


def answer(request: Request, obj: Work, code: int = status.HTTP_200_OK) -> Response:
    """The ticket or task as it is now (`obj` must be the row as saved: a service's
    return value, or a fresh read), with its ETag; created (201), with its Location."""
    resource = RESOURCES[type(obj)]
    response = Response(resource.serializer(obj, context={"request": request}).data, code)
    response["ETag"] = etag(obj)
    if code == status.HTTP_201_CREATED:
        response["Location"] = reverse(resource.route, kwargs={"number": obj.number})
    return response


class Listing(NamedTuple):
    """The GET beside a change: `rows(viewset, obj)` answered by `serializer`."""

    summary: str
    serializer: type[BaseSerializer[Any]]
    rows: Callable[..., Any]


def change_action(model: type[Ticket] | type[Task]) -> Callable[..., Any]:
    """The decorator that declares a change to one `model` (a ticket or a task) as a
    view action, answered with the `model`'s serializer."""
    answered_with = RESOURCES[model].serializer

    def declare(
        summary: str,
        body: type[BaseSerializer[Any]] | None,
        *,
        method: Literal["post", "delete"] = "post",
        listing: Listing | None = None,
        url_path: str | None = None,
        description: str | None = None,
        **options: Any,
    ) -> Callable[[Callable[..., Any]], Any]:
        """The decorated `change(self, actor, obj, data, **url_kwargs)` makes one service
        call; the action around it reads the object (404 first), validates the body with
        the serializer `body` (None: no body), runs the change under If-Match (412) and
        answers the object as saved. With a `listing`, a GET on the same URL lists its
        rows. The method keeps its name, so the URL (`url_path` aside) and the OpenAPI
        operation stay what `@action` would make of it."""

        def decorate(change: Callable[..., Any]) -> Any:
            @functools.wraps(change)
            def view(
                self: "WorkViewSet",
                request: Request,
                number: str | None = None,
                **url_kwargs: Any,
            ) -> Response:
                if listing is not None and request.method == "GET":
                    rows = listing.rows(self, self._get(number))
                    context = {"request": request}
                    return Response(listing.serializer(rows, many=True, context=context).data)

                def call(obj: Work, data: Any) -> Any:
                    return change(self, actor_of(request), obj, data, **url_kwargs)

                return self._act(number, body, call)

            methods: list[Literal["get", "post", "delete"]] = [method]
            if listing is not None:
                methods.insert(0, "get")
            routed = action(detail=True, methods=methods, url_path=url_path, **options)(view)
            documented = extend_schema(
                methods=[method] if listing else None,
                summary=summary,
                description=description,
                parameters=[IF_MATCH],
                request=body,
                responses=answered_with,
            )(routed)
            if listing is None:
                return documented
            many = listing.serializer(many=True)
            return extend_schema(methods=["get"], summary=listing.summary, responses=many)(
                documented
            )

        return decorate

    return declare


class EntryPagination(KeysetPagination):
    default_orderings = ("created_at", "-created_at")


# A thread's entries (or events) as a list beside its ticket or task: oldest first.
THREAD_LIST: dict[str, Any] = {
    "detail": True,
    "pagination_class": EntryPagination,
    "filter_backends": [],
    "orderings": ("created_at", "-created_at"),
}


class WorkViewSet(ApiMixin, viewsets.GenericViewSet):
    """Tickets or tasks the caller may see, by number (`_get`: 404 for the others)."""

    lookup_field = "number"
    lookup_value_regex = NUMBER_REGEX
    filter_backends = [DjangoFilterBackend]
    pagination_class = KeysetPagination
    orderings = ("-updated_at", "updated_at", "-created_at", "created_at")

    def _get(self, number: str | None) -> Any:
        raise NotImplementedError

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        data = self.get_serializer_class()(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    def retrieve(self, request, number=None):
        return answer(request, self._get(number))

    def _act(
        self,
        number: str | None,
        serializer_class: type[BaseSerializer[Any]] | None,
        call: Callable[[Any, Any], Any],
    ) -> Response:
        obj = self._get(number)  # visibility first: 404 before 422
        data = validated(serializer_class, self.request.data) if serializer_class else {}
        with guarded(self.request, obj):
            result = call(obj, data)
        # a service returns the object as saved; otherwise read it again
        return answer(self.request, result if isinstance(result, type(obj)) else fresh(obj))

    def _entries(self, thread_id: int, *, include_notes: bool) -> Response:
        """One page of a thread's entries."""
        rows = thread_selectors.entries_for(thread_id=thread_id, include_notes=include_notes)
        page = self.paginate_queryset(rows)
        shown = s.EntrySerializer(page, many=True, context={"request": self.request}).data
        return self.get_paginated_response(shown)

    def _entry_posted(self, entry: ThreadEntry, obj: Work) -> Response:
        """201 with the entry as the thread lists it; the ETag of its ticket or task
        (`obj` as saved)."""
        shown = thread_selectors.entries_for(thread_id=entry.thread_id, include_notes=True).get(
            pk=entry.pk
        )
        response = Response(
            s.EntrySerializer(shown, context={"request": self.request}).data,
            status=status.HTTP_201_CREATED,
        )
        response["ETag"] = etag(obj)
        return response
