"""/api/v1/tickets/: thin adapters, each action one service call (channel `api`).

Visibility comes from the selectors (404 for what the caller may not see), permissions
from the services (403; an API key's department scope and capabilities included),
state rules from the services (409), If-Match from `concurrency.guarded` (412). Every
change runs in one transaction.
"""

from typing import Any, cast

from django.db import transaction
from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import services as account_services
from accounts.actors import Actor, is_client
from accounts.errors import NotVisible, PermissionRefused, ValidationFailed
from accounts.models import User
from threads import selectors as thread_selectors
from threads.models import Collaborator, ThreadEntry
from tickets import services
from tickets.models import Ticket
from tickets.selectors import tasks_visible_to, tickets_linked_to

from . import serializers as s
from .concurrency import guarded
from .permissions import StaffElseNotFound, actor_of
from .selectors import includes_notes, with_related, with_task_related
from .uploads import incoming
from .views_tasks import task_open
from .work import (
    API,
    IF_MATCH,
    NUMBER_REGEX,
    THREAD_LIST,
    Listing,
    WorkViewSet,
    answer,
    change_action,
    entries_schema,
    fresh,
    list_and_post_schema,
    post_schema,
    validated,
)


class TicketViewSet(WorkViewSet, model=Ticket):
    """Tickets the caller may see."""

    # --- collection ----------------------------------------------------------------

    @post_schema(
        s.TicketCreateSerializer,
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
    )
    def create(self, request):
        data, files = incoming(request, s.TicketCreateSerializer)
        caller = actor_of(request)
        requester = self._requester(caller, data, create=False)
        if requester is not None:  # nothing to undo if refused: the service's transaction
            ticket = services.ticket_open(actor=caller, new=self._new(data, files, requester))
        else:
            with transaction.atomic():  # a requester created here goes if the opening is refused
                requester = cast(User, self._requester(caller, data, create=True))
                ticket = services.ticket_open(actor=caller, new=self._new(data, files, requester))
        return answer(request, ticket, status.HTTP_201_CREATED)  # as saved

    @staticmethod
    def _new(data: dict[str, Any], files, requester: User) -> services.NewTicket:
        return services.NewTicket(
            requester=requester,
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
            language=get_language() or "",  # the request's (Accept-Language)
            autorespond=data["autorespond"],
            alert=data["alert"],
        )

    @staticmethod
    def _requester(caller: Actor, data: dict[str, Any], *, create: bool) -> User | None:
        """The requester named, else the client calling (agents and keys must name one).
        By address: found, else created when `create` (None when not)."""
        named: User | None = data.get("requester")
        if named is not None:
            return named
        if data.get("requester_email"):
            if not create:
                return account_services.user_get_by_email(email=data["requester_email"])
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
        ticket = self._get(number)
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
                    actor=actor,
                    ticket=ticket,
                    status=data["status"],
                    close_tasks_too=data.get("close_tasks", False),
                    channel=API,
                )
        return answer(request, fresh(ticket))

    # --- actions -------------------------------------------------------------------

    @change_action("Refer to an agent, a team or a department", s.ReferSerializer)
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

    @change_action(
        "Change the status (close, reopen, archive, delete, restore)", s.StatusChangeSerializer
    )
    def status(self, actor, ticket, data):
        return services.ticket_set_status(
            actor=actor,
            ticket=ticket,
            status=data["status"],
            close_tasks_too=data["close_tasks"],
            channel=API,
        )

    @change_action("Change the priority", s.PriorityChangeSerializer)
    def priority(self, actor, ticket, data):
        return services.ticket_set_priority(
            actor=actor, ticket=ticket, priority=data["priority"], channel=API
        )

    @change_action("Set or clear the due date", s.DueDateSerializer, url_path="due-date")
    def due_date(self, actor, ticket, data):
        return services.ticket_set_due_date(
            actor=actor, ticket=ticket, due_at=data["due_at"], channel=API
        )

    @change_action("Mark answered or unanswered", s.AnsweredSerializer)
    def answered(self, actor, ticket, data):
        return services.ticket_mark_answered(
            actor=actor, ticket=ticket, answered=data["answered"], channel=API
        )

    @change_action("Merge other tickets into this one", s.MergeSerializer)
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

    @change_action(
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
        ticket = self._get(number)
        data = validated(s.SplitSerializer, request.data)
        entry = self._entry(ticket, data["entry"])
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
        return answer(request, fresh(new), status.HTTP_201_CREATED)

    def _entry(self, ticket: Ticket, pk: int) -> ThreadEntry:
        """An entry of this ticket named in a body (a note: only for those who see
        notes); anything else is a 422."""
        entry = ThreadEntry.objects.filter(pk=pk, thread_id=ticket.thread_id).first()
        if entry is None or (
            entry.kind == ThreadEntry.Kind.NOTE and not includes_notes(self.request.user)
        ):
            raise ValidationFailed(
                "No such entry in this ticket.",
                code="entry_not_found",
                fields={"entry": ["Not an entry of this ticket."]},
            )
        return entry

    def _other(self, number: str, field: str) -> Ticket:
        """Another ticket named in a body: unknown and invisible read the same (422)."""
        try:
            return self._get(number)
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

    @change_action(
        "Link another ticket",
        s.LinkSerializer,
        listing=Listing("Linked tickets", s.TicketSerializer, _linked),
        pagination_class=None,
        filter_backends=[],
    )
    def links(self, actor, ticket, data):
        other = self._other(data["ticket"], "ticket")
        return services.ticket_link(actor=actor, ticket=ticket, other=other, channel=API)

    @change_action(
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

    @change_action(
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

    @change_action(
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

    @entries_schema(
        listed="Thread entries (clients do not see internal notes)",
        posted="Post a message, a reply or an internal note",
        body=s.EntryCreateSerializer,
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
    )
    @action(methods=["get", "post"], **THREAD_LIST)
    def entries(self, request, number=None):
        ticket = self._get(number)
        if request.method == "GET":
            return self._entries(ticket.thread_id, include_notes=includes_notes(request.user))
        data, files = incoming(request, s.EntryCreateSerializer)
        with guarded(request, ticket):
            posted = self._post_entry(ticket, data, files)
        return self._entry_posted(posted.entry, posted.ticket)

    def _post_entry(self, ticket, data, files):
        actor, kind = actor_of(self.request), data["kind"]
        common = {"actor": actor, "ticket": ticket, "body": data["body"], "fmt": data["format"]}
        if kind != "reply":
            given = [n for n in ("status", "cc") if data.get(n) is not None]
            given += ["signature"] if data.get("signature", "none") != "none" else []
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
    @action(methods=["get"], **THREAD_LIST)
    def events(self, request, number=None):
        ticket = self._get(number)
        if not includes_notes(request.user):
            raise PermissionRefused("Clients do not see the audit trail.")
        page = self.paginate_queryset(thread_selectors.events_for(thread_id=ticket.thread_id))
        return self.get_paginated_response(s.EventSerializer(page, many=True).data)

    # --- tasks -----------------------------------------------------------------------

    @list_and_post_schema(
        s.TaskSerializer,
        listed="The ticket's tasks (those the caller may see)",
        posted="Create a task of this ticket",
        body=s.TicketTaskCreateSerializer,
        description="Needs task.create in the ticket's department. With `entry`, "
        'osTicket\'s "Create task" on that entry of the thread. Clients: 404, as for every '
        "task endpoint.",
        examples=[
            OpenApiExample(
                "A task from the client's message, for Billing",
                request_only=True,
                value={"title": "Refund the second charge", "entry": 41, "department": 2},
            )
        ],
    )
    @action(
        detail=True,
        methods=["get", "post"],
        permission_classes=[StaffElseNotFound],
        pagination_class=None,
        filter_backends=[],
    )
    def tasks(self, request, number=None):
        ticket = self._get(number)
        if request.method == "GET":
            rows = tasks_visible_to(user=request.user).filter(ticket_id=ticket.pk)
            shown = with_task_related(rows.order_by("pk"))
            return Response(s.TaskSerializer(shown, many=True, context={"request": request}).data)
        data, files = incoming(request, s.TicketTaskCreateSerializer)
        entry = self._entry(ticket, data["entry"]) if "entry" in data else None
        task = task_open(request, data, files, ticket=ticket, entry=entry)
        return answer(request, task, status.HTTP_201_CREATED)
