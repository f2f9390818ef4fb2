"""/api/v1/tickets/: thin adapters, each action one service call (channel `api`).

Visibility comes from the selectors (404 for what the caller may not see), permissions
from the services (403; an API key's department scope and capabilities included),
state rules from the services (409), If-Match from `concurrency.guarded` (412). Every
change runs in one transaction.
"""

import functools
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from django.db import transaction
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts import services as account_services
from accounts.actors import Actor, is_client
from accounts.errors import NotVisible, PermissionRefused, ValidationFailed
from accounts.models import User
from threads import selectors as thread_selectors
from threads.models import Collaborator, ThreadEntry
from tickets import services
from tickets.models import Ticket
from tickets.selectors import tickets_linked_to

from . import bounds
from . import serializers as s
from .base import ApiMixin
from .concurrency import etag, guarded
from .filters import TicketFilter
from .pagination import KeysetPagination
from .permissions import IsCaller, actor_of
from .selectors import includes_notes, ticket_for, tickets_for, with_related
from .uploads import incoming

API = "api"
NUMBER_REGEX = r"[A-Za-z0-9_-]{1,32}"
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The ticket's ETag; the change is refused with 412 if it moved on.",
)


def validated(serializer_class, data, **context):
    """Lists bounded before anything else (400), then the values (422)."""
    return bounds.validate(serializer_class(data=data, context=context))


def fresh(ticket: Ticket) -> Ticket:
    return with_related(Ticket.objects.filter(pk=ticket.pk)).get()


class Listing(NamedTuple):
    """The GET beside a change: `rows(viewset, ticket)` answered by `serializer`."""

    summary: str
    serializer: type[BaseSerializer[Any]]
    rows: Callable[..., Any]


def ticket_action(
    summary: str,
    body: type[BaseSerializer[Any]] | None,
    *,
    method: Literal["post", "delete"] = "post",
    listing: Listing | None = None,
    url_path: str | None = None,
    description: str | None = None,
    **options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a change to one ticket as a view action.

    The decorated `change(self, actor, ticket, data, **url_kwargs)` makes one service call;
    the action around it reads the ticket (404 first), validates the body with the
    serializer `body` (None: no body), runs the change under If-Match (412) and answers
    the ticket as saved. With a `listing`, a GET on the same URL lists its rows. The
    method keeps its name, so the URL (`url_path` aside) and the OpenAPI operation stay
    what `@action` would make of it.
    """

    def decorate(change: Callable[..., Any]) -> Any:
        @functools.wraps(change)
        def view(
            self: "TicketViewSet", request: Request, number: str | None = None, **url_kwargs: Any
        ) -> Response:
            if listing is not None and request.method == "GET":
                rows = listing.rows(self, self._ticket(number))
                context = {"request": request}
                return Response(listing.serializer(rows, many=True, context=context).data)

            def call(ticket: Ticket, data: Any) -> Any:
                return change(self, actor_of(request), ticket, data, **url_kwargs)

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
            responses=s.TicketSerializer,
        )(routed)
        if listing is None:
            return documented
        many = listing.serializer(many=True)
        return extend_schema(methods=["get"], summary=listing.summary, responses=many)(documented)

    return decorate


class EntryPagination(KeysetPagination):
    default_orderings = ("created_at", "-created_at")


class TicketViewSet(ApiMixin, viewsets.GenericViewSet):
    """Tickets the caller may see."""

    lookup_field = "number"
    lookup_value_regex = NUMBER_REGEX
    permission_classes = [IsCaller]
    serializer_class = s.TicketSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = TicketFilter
    pagination_class = KeysetPagination
    orderings = ("-updated_at", "updated_at", "-created_at", "created_at")

    def get_queryset(self):
        return with_related(tickets_for(self.request.user))

    def _ticket(self, number) -> Ticket:
        return ticket_for(self.request.user, number)

    def _answer(self, ticket: Ticket, code=status.HTTP_200_OK, headers=None) -> Response:
        """The ticket as it is now: `ticket` must be the row as saved (a service's
        return value, or a fresh read)."""
        data = s.TicketSerializer(ticket, context={"request": self.request}).data
        response = Response(data, status=code, headers=headers)
        response["ETag"] = etag(ticket)
        return response

    # --- collection ----------------------------------------------------------------

    @extend_schema(summary="List tickets", responses=s.TicketSerializer(many=True))
    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        data = s.TicketSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Open a ticket",
        examples=[
            OpenApiExample(
                "An agent opens a ticket for a client",
                request_only=True,
                value={
                    "subject": "VPN down",
                    "body": "Since 9am.",
                    "requester_email": "jane@example.com",
                    "requester_name": "Jane Doe",
                    "department": 1,
                    "priority": 3,
                    "attachments": [
                        {"filename": "log.txt", "content_type": "text/plain", "content": "aGVsbG8="}
                    ],
                },
            )
        ],
        request={
            "application/json": s.TicketCreateSerializer,
            "multipart/form-data": s.TicketCreateSerializer,
        },
        responses={201: s.TicketSerializer},
    )
    def create(self, request):
        data, files = incoming(request, s.TicketCreateSerializer)
        caller = actor_of(request)
        with transaction.atomic():  # a requester created here goes if the opening is refused
            new = services.NewTicket(
                requester=self._requester(caller, data),
                subject=data["subject"],
                body=data["body"],
                fmt=data["format"],
                source=data["source"],
                topic=data.get("topic"),
                department=data.get("department"),
                priority=data.get("priority"),
                assignee=data.get("assignee"),
                team=data.get("team"),
                due_at=data.get("due_at"),
                files=files,
                collaborators=data.get("collaborators", []),
                custom_fields=data.get("custom_fields"),
                channel=API,
                autorespond=data["autorespond"],
                alert=data["alert"],
            )
            ticket = services.ticket_open(actor=caller, new=new)
        location = reverse("api:ticket-detail", kwargs={"number": ticket.number})
        return self._answer(ticket, status.HTTP_201_CREATED, {"Location": location})  # as saved

    @staticmethod
    def _requester(caller: Actor, data: dict[str, Any]) -> User:
        """The requester named, else the client calling (agents and keys must name one)."""
        named: User | None = data.get("requester")
        if named is not None:
            return named
        if data.get("requester_email"):
            user, _ = account_services.user_get_or_create_by_email(
                actor=caller, email=data["requester_email"], name=data["requester_name"]
            )
            return user
        if is_client(caller):
            return caller
        raise ValidationFailed(
            "Name the requester.",
            code="requester_required",
            fields={"requester": ["Give requester or requester_email."]},
        )

    # --- one ticket ----------------------------------------------------------------

    @extend_schema(summary="One ticket", responses=s.TicketSerializer)
    def retrieve(self, request, number=None):
        return self._answer(self._ticket(number))

    @extend_schema(
        summary="Change a ticket's details",
        examples=[
            OpenApiExample(
                "New subject and priority",
                request_only=True,
                value={"subject": "VPN down for the whole office", "priority": 3},
            )
        ],
        description="Each field given is one service call (edit, priority, due date, "
        "answered, status); all commit together or not at all.",
        parameters=[IF_MATCH],
        request=s.TicketUpdateSerializer,
        responses=s.TicketSerializer,
    )
    def partial_update(self, request, number=None):
        ticket = self._ticket(number)
        data = validated(s.TicketUpdateSerializer, request.data)
        actor = actor_of(request)
        edits = {k: data[k] for k in ("subject", "topic", "sla", "requester") if k in data}
        with guarded(request, ticket):
            if edits:
                services.ticket_edit(actor=actor, ticket=ticket, channel=API, **edits)
            if "priority" in data:
                services.ticket_set_priority(
                    actor=actor, ticket=ticket, priority=data["priority"], channel=API
                )
            if "due_at" in data:
                services.ticket_set_due_date(
                    actor=actor, ticket=ticket, due_at=data["due_at"], channel=API
                )
            if "is_answered" in data:
                services.ticket_mark_answered(
                    actor=actor, ticket=ticket, answered=data["is_answered"], channel=API
                )
            if "status" in data:
                services.ticket_set_status(
                    actor=actor, ticket=ticket, status=data["status"], channel=API
                )
        return self._answer(fresh(ticket))

    # --- actions -------------------------------------------------------------------

    def _act(
        self,
        number: str | None,
        serializer_class: type[BaseSerializer[Any]] | None,
        call: Callable[[Ticket, Any], Any],
    ) -> Response:
        ticket = self._ticket(number)  # visibility first: 404 before 422
        data = validated(serializer_class, self.request.data) if serializer_class else {}
        with guarded(self.request, ticket):
            result = call(ticket, data)
        # a service returns the ticket as saved; otherwise read it again
        return self._answer(result if isinstance(result, Ticket) else fresh(ticket))

    @ticket_action("Assign to an agent and/or a team", s.AssignSerializer)
    def assign(self, actor, ticket, data):
        return services.ticket_assign(
            actor=actor,
            ticket=ticket,
            agent=data.get("agent"),
            team=data.get("team"),
            comment=data["comment"],
            channel=API,
        )

    @ticket_action("Claim (self-assign)", None)
    def claim(self, actor, ticket, data):
        return services.ticket_claim(actor=actor, ticket=ticket, channel=API)

    @ticket_action("Release the assignment", s.ReleaseSerializer)
    def release(self, actor, ticket, data):
        return services.ticket_release(
            actor=actor, ticket=ticket, agent=data["agent"], team=data["team"], channel=API
        )

    @ticket_action("Transfer to another department", s.TransferSerializer)
    def transfer(self, actor, ticket, data):
        return services.ticket_transfer(
            actor=actor,
            ticket=ticket,
            department=data["department"],
            comment=data["comment"],
            channel=API,
        )

    @ticket_action("Refer to an agent, a team or a department", s.ReferSerializer)
    def refer(self, actor, ticket, data):
        return services.ticket_refer(
            actor=actor,
            ticket=ticket,
            agent=data.get("agent"),
            team=data.get("team"),
            department=data.get("department"),
            comment=data["comment"],
            channel=API,
        )

    @ticket_action(
        "Change the status (close, reopen, archive, delete, restore)", s.StatusChangeSerializer
    )
    def status(self, actor, ticket, data):
        return services.ticket_set_status(
            actor=actor, ticket=ticket, status=data["status"], channel=API
        )

    @ticket_action("Change the priority", s.PriorityChangeSerializer)
    def priority(self, actor, ticket, data):
        return services.ticket_set_priority(
            actor=actor, ticket=ticket, priority=data["priority"], channel=API
        )

    @ticket_action("Set or clear the due date", s.DueDateSerializer, url_path="due-date")
    def due_date(self, actor, ticket, data):
        return services.ticket_set_due_date(
            actor=actor, ticket=ticket, due_at=data["due_at"], channel=API
        )

    @ticket_action("Mark answered or unanswered", s.AnsweredSerializer)
    def answered(self, actor, ticket, data):
        return services.ticket_mark_answered(
            actor=actor, ticket=ticket, answered=data["answered"], channel=API
        )

    @ticket_action("Merge other tickets into this one", s.MergeSerializer)
    def merge(self, actor, ticket, data):
        return services.ticket_merge(
            actor=actor,
            ticket=ticket,
            sources=[self._other(n, "sources") for n in data["sources"]],
            mode=data["mode"],
            participants=data.get("participants"),
            child_status=data.get("child_status"),
            parent_status=data.get("parent_status"),
            channel=API,
        )

    @ticket_action(
        "Detach this ticket from the ticket it was merged into (or linked under)",
        s.UnmergeSerializer,
        description="A combined ticket takes back the entries that came from its thread and, "
        "unless `status` says otherwise, the status it had before the merge. A ticket that "
        "is not merged is a 409 (`not_merged`).",
    )
    def unmerge(self, actor, ticket, data):
        return services.ticket_unmerge(
            actor=actor, ticket=ticket, status=data.get("status"), channel=API
        )

    @extend_schema(
        summary="Create a ticket from one entry of this one (split)",
        description="The new ticket's first message is the entry's body and files (shared, "
        "not copied); both tickets are linked and get a `split` event naming the other. "
        "Needs ticket.create in the new ticket's department.",
        request=s.SplitSerializer,
        responses={201: s.TicketSerializer},
    )
    @action(detail=True, methods=["post"])
    def split(self, request, number=None):
        caller = actor_of(request)
        ticket = self._ticket(number)
        data = validated(s.SplitSerializer, request.data)
        entry = ThreadEntry.objects.filter(pk=data["entry"], thread_id=ticket.thread_id).first()
        if entry is None or (entry.kind == ThreadEntry.Kind.NOTE and not includes_notes(caller)):
            raise ValidationFailed(
                "No such entry in this ticket.",
                code="entry_not_found",
                fields={"entry": ["Not an entry of this ticket."]},
            )
        with transaction.atomic():
            new = services.ticket_split(
                actor=caller,
                ticket=ticket,
                entry=entry,
                subject=data["subject"],
                requester=data.get("requester"),
                department=data.get("department"),
                topic=data.get("topic"),
                priority=data.get("priority"),
                autorespond=data["autorespond"],
                alert=data["alert"],
                channel=API,
            )
        location = reverse("api:ticket-detail", kwargs={"number": new.number})
        return self._answer(fresh(new), status.HTTP_201_CREATED, {"Location": location})

    def _other(self, number: str, field: str) -> Ticket:
        """Another ticket named in a body: unknown and invisible read the same (422)."""
        try:
            return self._ticket(number)
        except NotVisible:
            raise ValidationFailed(
                f"Ticket {number} not found.",
                code="ticket_not_found",
                fields={field: [f"Ticket {number} not found."]},
            ) from None

    # --- links ---------------------------------------------------------------------

    def _linked(self, ticket):
        linked = tickets_linked_to(user=self.request.user, ticket=ticket)
        return with_related(linked).order_by("pk")

    @ticket_action(
        "Link another ticket",
        s.LinkSerializer,
        listing=Listing("Linked tickets", s.TicketSerializer, _linked),
        pagination_class=None,
        filter_backends=[],
    )
    def links(self, actor, ticket, data):
        other = self._other(data["ticket"], "ticket")
        return services.ticket_link(actor=actor, ticket=ticket, other=other, channel=API)

    @ticket_action(
        "Unlink another ticket",
        None,
        method="delete",
        url_path=rf"links/(?P<other>{NUMBER_REGEX})",
        pagination_class=None,
        filter_backends=[],
    )
    def unlink(self, actor, ticket, data, other=None):
        return services.ticket_unlink(
            actor=actor, ticket=ticket, other=self._other(other, "ticket"), channel=API
        )

    # --- collaborators ---------------------------------------------------------------

    def _collaborators(self, ticket):
        return (
            Collaborator.objects.filter(thread_id=ticket.thread_id, is_active=True)
            .select_related("user")
            .order_by("pk")
        )

    @ticket_action(
        "Add a collaborator",
        s.CollaboratorInSerializer,
        listing=Listing("Collaborators", s.CollaboratorSerializer, _collaborators),
        pagination_class=None,
        filter_backends=[],
    )
    def collaborators(self, actor, ticket, data):
        return services.ticket_add_collaborator(
            actor=actor, ticket=ticket, user=data["user"], role=data["role"], channel=API
        )

    @ticket_action(
        "Remove a collaborator",
        None,
        method="delete",
        url_path=r"collaborators/(?P<user_id>[0-9]{1,18})",
        pagination_class=None,
        filter_backends=[],
    )
    def remove_collaborator(self, actor, ticket, data, user_id=None):
        row = (
            Collaborator.objects.filter(thread_id=ticket.thread_id, user_id=int(user_id))
            .select_related("user")
            .first()
        )
        if row is None:
            raise NotVisible("Not a collaborator of this ticket.", code="not_collaborator")
        return services.ticket_remove_collaborator(
            actor=actor, ticket=ticket, user=row.user, channel=API
        )

    # --- thread ----------------------------------------------------------------------

    @extend_schema(
        methods=["get"],
        summary="Thread entries (clients do not see internal notes)",
        responses=s.EntrySerializer(many=True),
    )
    @extend_schema(
        methods=["post"],
        summary="Post a message, a reply or an internal note",
        examples=[
            OpenApiExample(
                "A reply that resolves the ticket",
                request_only=True,
                value={"kind": "reply", "body": "Fixed, please retry.", "status": 2},
            ),
            OpenApiExample(
                "An internal note",
                request_only=True,
                value={"kind": "note", "title": "Call", "body": "Called the client."},
            ),
        ],
        description="JSON with base64 `attachments`, or multipart/form-data with files "
        "under `attachments`.",
        parameters=[IF_MATCH],
        request={
            "application/json": s.EntryCreateSerializer,
            "multipart/form-data": s.EntryCreateSerializer,
        },
        responses={201: s.EntrySerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        pagination_class=EntryPagination,
        filter_backends=[],
        orderings=("created_at", "-created_at"),
    )
    def entries(self, request, number=None):
        ticket = self._ticket(number)
        if request.method == "GET":
            rows = thread_selectors.entries_for(
                thread_id=ticket.thread_id, include_notes=includes_notes(request.user)
            )
            page = self.paginate_queryset(rows)
            shown = s.EntrySerializer(page, many=True, context={"request": request}).data
            return self.get_paginated_response(shown)
        data, files = incoming(request, s.EntryCreateSerializer)
        with guarded(request, ticket):
            posted = self._post_entry(ticket, data, files)
        entry = thread_selectors.entries_for(
            thread_id=posted.entry.thread_id, include_notes=True
        ).get(pk=posted.entry.pk)
        response = Response(
            s.EntrySerializer(entry, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )
        response["ETag"] = etag(posted.ticket)
        return response

    def _post_entry(self, ticket, data, files):
        actor, kind = actor_of(self.request), data["kind"]
        common = {"actor": actor, "ticket": ticket, "body": data["body"], "fmt": data["format"]}
        if kind != "reply":
            given = [n for n in ("status", "cc") if data.get(n) is not None]
            given += ["signature"] if data.get("signature") else []
            if given:
                raise ValidationFailed(
                    f"Only a reply takes {', '.join(given)}.",
                    fields={name: ["Only with a reply."] for name in given},
                )
        if kind == "message":
            return services.ticket_post_message(**common, files=files, source="api", channel=API)
        if kind == "reply":
            return services.ticket_post_reply(
                **common,
                files=files,
                status=data.get("status"),
                cc=data.get("cc"),
                signature=data["signature"],
                source="api",
                channel=API,
            )
        return services.ticket_post_note(
            **common, title=data["title"], files=files, source="api", channel=API
        )

    @extend_schema(summary="The audit trail", responses=s.EventSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        pagination_class=EntryPagination,
        filter_backends=[],
        orderings=("created_at", "-created_at"),
    )
    def events(self, request, number=None):
        ticket = self._ticket(number)
        if not includes_notes(request.user):
            raise PermissionRefused("Clients do not see the audit trail.")
        page = self.paginate_queryset(thread_selectors.events_for(thread_id=ticket.thread_id))
        return self.get_paginated_response(s.EventSerializer(page, many=True).data)
