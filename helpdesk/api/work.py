"""What the ticket and task endpoints share (views_tickets, views_tasks).

A ticket or a task is read by number through its visibility selector (404 before
anything else), a change is one service call (channel `api`) declared with
`change_action`, run under If-Match (`concurrency.guarded`: 412) in one transaction, and
the answer is the object as saved, with its version as ETag. A viewset names its model
(`class TicketViewSet(WorkViewSet, model=Ticket)`); its `Resource` says who may call, how
the model is read and what it answers. Assigning, claiming, releasing and transferring
are the same four actions on both, each calling the model's own service
(`ticket_assign`, `task_assign`...).
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple

from django.db.models import Model, QuerySet
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.actors import Actor
from accounts.errors import NotVisible
from threads import selectors as thread_selectors
from threads.models import ThreadEntry
from tickets import services
from tickets.models import Task, Ticket

from . import bounds
from . import serializers as s
from .base import ApiMixin
from .concurrency import Work, etag, guarded
from .filters import StrictFilterSet, TaskFilter, TicketFilter
from .pagination import KeysetPagination
from .permissions import IsCaller, StaffElseNotFound, actor_of
from .selectors import (
    includes_notes,
    task_for,
    tasks_for,
    ticket_for,
    tickets_for,
    with_related,
    with_task_related,
)

API = "api"
NUMBER_REGEX = r"[A-Za-z0-9_-]{1,32}"
ENTRY_ID_REGEX = r"[0-9]{1,18}"
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
    """Who may call the endpoints of one model, how they read it and what they answer."""

    name: str  # the services' `<name>_<verb>` and their keyword for the object
    plural: str
    callers: type[BasePermission]
    serializer: type[BaseSerializer[Any]]
    filterset: type[StrictFilterSet]
    visible: Callable[[Any], QuerySet[Any]]  # the caller's rows (the visibility selector)
    one: Callable[[Any, Any], Any]  # one of them by number, else NotVisible (404)
    related: Callable[[Any], Any]  # a queryset with what the serializer reads

    @property
    def route(self) -> str:
        return f"api:{self.name}-detail"


RESOURCES: dict[type[Model], Resource] = {
    Ticket: Resource(
        name="ticket",
        plural="tickets",
        callers=IsCaller,
        serializer=s.TicketSerializer,
        filterset=TicketFilter,
        visible=tickets_for,
        one=ticket_for,
        related=with_related,
    ),
    Task: Resource(
        name="task",
        plural="tasks",
        callers=StaffElseNotFound,  # tasks never reach clients
        serializer=s.TaskSerializer,
        filterset=TaskFilter,
        visible=tasks_for,
        one=task_for,
        related=with_task_related,
    ),
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


WITH_FILES = (
    "JSON with base64 `attachments`, or multipart/form-data with files under `attachments`."
)


def post_schema(
    body: type[BaseSerializer[Any]],
    created: type[BaseSerializer[Any]] | None = None,
    *,
    summary: str,
    examples: list[OpenApiExample],
    description: str | None = None,
    if_match: bool = False,
    methods: list[str] | None = None,
) -> Any:
    """The OpenAPI of a POST of `body` (JSON with base64 files, or multipart) answering
    201 with `created` (a viewset's `create`: its serializer)."""
    answered: dict[str, Any] = {} if created is None else {"responses": {201: created}}
    return extend_schema(
        methods=methods,
        summary=summary,
        examples=examples,
        description=description,
        parameters=[IF_MATCH] if if_match else None,
        request={"application/json": body, "multipart/form-data": body},
        **answered,
    )


def list_and_post_schema(
    rows: type[BaseSerializer[Any]],
    *,
    listed: str,
    posted: str,
    body: type[BaseSerializer[Any]],
    examples: list[OpenApiExample],
    description: str = "",
    if_match: bool = False,
) -> Callable[[Any], Any]:
    """The OpenAPI of a GET listing `rows` and a POST of `body` (files in JSON or
    multipart) answering 201 with the row created, on one URL."""

    def decorate(view: Any) -> Any:
        posting = post_schema(
            body,
            rows,
            methods=["post"],
            summary=posted,
            examples=examples,
            description=f"{description} {WITH_FILES}".strip(),
            if_match=if_match,
        )
        listing = extend_schema(methods=["get"], summary=listed, responses=rows(many=True))
        return listing(posting(view))

    return decorate


def entries_schema(**kwargs: Any) -> Callable[[Any], Any]:
    """The OpenAPI of a thread's entries beside its ticket or task: GET lists them, POST
    posts one (under the ticket's or task's If-Match)."""
    return list_and_post_schema(s.EntrySerializer, if_match=True, **kwargs)


class Listing(NamedTuple):
    """The GET beside a change: `rows(viewset, obj)` answered by `serializer`."""

    summary: str
    serializer: type[BaseSerializer[Any]]
    rows: Callable[..., Any]


def change_action(
    summary: str,
    body: type[BaseSerializer[Any]] | None,
    *,
    method: Literal["post", "delete"] = "post",
    listing: Listing | None = None,
    url_path: str | None = None,
    description: str | None = None,
    **options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a change to one ticket or task as a view action of a WorkViewSet.

    The decorated `change(self, actor, obj, data, **url_kwargs)` makes one service call;
    the action around it reads the object (404 first), validates the body with the
    serializer `body` (None: no body), runs the change under If-Match (412) and answers
    the object as saved (documented as the viewset's `serializer_class`). With a
    `listing`, a GET on the same URL lists its rows. The method keeps its name, so the
    URL (`url_path` aside) and the OpenAPI operation stay what `@action` would make of it.
    """

    def decorate(change: Callable[..., Any]) -> Any:
        @functools.wraps(change)
        def view(
            self: "WorkViewSet", request: Request, number: str | None = None, **url_kwargs: Any
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
        )(routed)
        if listing is None:
            return documented
        many = listing.serializer(many=True)
        return extend_schema(methods=["get"], summary=listing.summary, responses=many)(documented)

    return decorate


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
    resource: ClassVar[Resource]
    filterset_class: type[StrictFilterSet] | None = None

    def __init_subclass__(cls, model: type[Model] | None = None, **kwargs: Any) -> None:
        """`model=`: the endpoints of that model (its Resource), with its summaries."""
        super().__init_subclass__(**kwargs)
        if model is None:
            return
        cls.resource = resource = RESOURCES[model]
        cls.permission_classes = [resource.callers]
        cls.serializer_class = resource.serializer
        cls.filterset_class = resource.filterset
        extend_schema_view(
            list=extend_schema(
                summary=f"List {resource.plural}", responses=resource.serializer(many=True)
            ),
            retrieve=extend_schema(summary=f"One {resource.name}", responses=resource.serializer),
        )(cls)

    def get_queryset(self):
        return self.resource.related(self.resource.visible(self.request.user))

    def _get(self, number: str | None) -> Any:
        return self.resource.one(self.request.user, number)

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

    # --- assignment ----------------------------------------------------------------

    def _service(self, verb: str, obj: Work, **kwargs: Any) -> Any:
        """tickets.services' `<model>_<verb>` (ticket_assign, task_assign...) on `obj`."""
        service = getattr(services, f"{self.resource.name}_{verb}")
        return service(**{self.resource.name: obj}, channel=API, **kwargs)

    @change_action("Assign to an agent and/or a team", s.AssignSerializer)
    def assign(self, actor, obj, data):
        return self._service(
            "assign",
            obj,
            actor=actor,
            agent=data.get("agent"),
            team=data.get("team"),
            comment=data["comment"],
        )

    @change_action("Claim (self-assign)", None)
    def claim(self, actor, obj, data):
        return self._service("claim", obj, actor=actor)

    @change_action("Release the assignment", s.ReleaseSerializer)
    def release(self, actor, obj, data):
        return self._service("release", obj, actor=actor, agent=data["agent"], team=data["team"])

    @change_action("Transfer to another department", s.TransferSerializer)
    def transfer(self, actor, obj, data):
        return self._service(
            "transfer", obj, actor=actor, department=data["department"], comment=data["comment"]
        )

    # --- thread ----------------------------------------------------------------------

    def _entries(self, thread_id: int, *, include_notes: bool) -> Response:
        """One page of a thread's entries."""
        rows = thread_selectors.entries_for(thread_id=thread_id, include_notes=include_notes)
        page = self.paginate_queryset(rows)
        shown = s.EntrySerializer(page, many=True, context={"request": self.request}).data
        return self.get_paginated_response(shown)

    def _entry_posted(self, entry: ThreadEntry, obj: Work) -> Response:
        """201 with the entry as the thread lists it; the ETag of its ticket or task
        (`obj` as saved)."""
        return self._entry_answer(entry, obj, status.HTTP_201_CREATED)

    def _entry_answer(self, entry: ThreadEntry, obj: Work, code: int) -> Response:
        """The entry as the thread lists it, with the ETag of its ticket or task."""
        shown = thread_selectors.entries_for(thread_id=entry.thread_id, include_notes=True).get(
            pk=entry.pk
        )
        response = Response(s.EntrySerializer(shown, context={"request": self.request}).data, code)
        response["ETag"] = etag(obj)
        return response

    # --- one entry: read, edit, its history -----------------------------------------

    def _thread_entry(self, obj: Work, entry_id: str | None) -> ThreadEntry:
        """An entry of the object's thread that the caller sees (a client: no internal
        note), else 404."""
        entry = services.entry_of(obj, int(entry_id or 0))
        if entry.kind == ThreadEntry.Kind.NOTE and not includes_notes(self.request.user):
            raise NotVisible("Entry not found.", code="entry_not_found")
        return entry

    def _editor(self, obj: Work, entry: ThreadEntry) -> Actor:
        """The caller, if they may edit the entry and read its history (the services'
        rule: own entries, the department's manager, or thread.edit); 403 else."""
        actor = actor_of(self.request)
        refusal = services.entry_edit_refusal(actor, obj, entry)
        if refusal is not None:
            raise refusal
        return actor

    @extend_schema(
        methods=["get"], summary="One thread entry", responses=s.EntrySerializer, request=None
    )
    @extend_schema(
        methods=["patch"],
        summary="Edit a thread entry (its earlier text is kept as a revision)",
        description="Agents only, as osTicket: their own responses, notes and updates, any "
        "entry as the department's manager or with thread.edit there (403 otherwise, "
        "naming the permission); system entries are never edited (409). A ticket's "
        "response is edited only with `resend` (edit and resend: mailed again, needs "
        "ticket.reply). The body is in the entry's format (HTML is sanitised). Answers the "
        "entry as it reads now, with the ticket's or task's new ETag.",
        parameters=[IF_MATCH],
        request=s.EntryEditSerializer,
        responses=s.EntrySerializer,
        examples=[
            OpenApiExample(
                "Correct a typo in a note",
                request_only=True,
                value={"body": "Toner is empty.", "title": "Checked the printer"},
            )
        ],
    )
    @action(
        detail=True,
        methods=["get", "patch"],
        url_path=rf"entries/(?P<entry_id>{ENTRY_ID_REGEX})",
        pagination_class=None,
        filter_backends=[],
    )
    def entry(self, request: Request, number: str | None = None, entry_id: str | None = None):
        obj = self._get(number)
        entry = self._thread_entry(obj, entry_id)
        if request.method == "GET":
            return self._entry_answer(entry, obj, status.HTTP_200_OK)
        actor = self._editor(obj, entry)
        data = validated(s.EntryEditSerializer, request.data)
        with guarded(request, obj):
            edited = services.entry_edit(actor=actor, work=obj, entry=entry, channel=API, **data)
        return self._entry_answer(edited, fresh(obj), status.HTTP_200_OK)

    @extend_schema(
        summary="An entry's edit history",
        description="The texts the entry had before each edit, oldest first (the current "
        "text is the entry's own). Who may edit the entry may read its history (403 "
        "otherwise).",
        responses=s.RevisionSerializer(many=True),
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=rf"entries/(?P<entry_id>{ENTRY_ID_REGEX})/revisions",
        pagination_class=None,
        filter_backends=[],
    )
    def entry_revisions(
        self, request: Request, number: str | None = None, entry_id: str | None = None
    ):
        obj = self._get(number)
        entry = self._thread_entry(obj, entry_id)
        self._editor(obj, entry)
        rows = entry.revisions.select_related("written_by", "replaced_by").order_by(
            "replaced_at", "pk"
        )
        return Response(s.RevisionSerializer(rows, many=True).data)
