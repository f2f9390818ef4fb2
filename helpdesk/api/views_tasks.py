"""/api/v1/tasks/: thin adapters, each action one tickets.services.tasks call (channel
`api`), declared as the ticket endpoints are (helpdesk.api.work).

Agents and API keys only: for a client every task endpoint is an unknown route (404),
as tasks never reach the portal's users. Visibility comes from the selectors
(tasks_visible_to, task_get_for: 404 for a task the caller may not see), permissions
from the services (403: the role effective in the task's department; an API key's write
scope), state rules from the services (409), If-Match from `concurrency.guarded` (412).
"""

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request

from threads.models import ThreadEntry
from threads.services import NewAttachment
from tickets import services
from tickets.models import Task, Ticket
from tickets.selectors import tasks_visible_to

from . import serializers as s
from .concurrency import guarded
from .filters import TaskFilter
from .permissions import StaffElseNotFound, actor_of
from .selectors import task_for, with_task_related
from .uploads import incoming
from .work import API, IF_MATCH, THREAD_LIST, WorkViewSet, answer, change_action

task_action = change_action(Task)


def task_open(
    request: Request,
    data: dict[str, Any],
    files: list[NewAttachment],
    *,
    ticket: Ticket | None = None,
    entry: ThreadEntry | None = None,
) -> Task:
    """A new task from a validated TaskCreateSerializer body (standalone, or of `ticket`,
    from its `entry`)."""
    new = services.NewTask(
        title=data["title"],
        description=data["description"],
        fmt=data["format"],
        department=data.get("department"),
        assignee=data.get("assignee"),
        team=data.get("team"),
        due_at=data.get("due_at"),
        ticket=ticket,
        entry=entry,
        custom_fields=data.get("custom_fields") or {},
        files=files,
        source=ThreadEntry.Source.API,
    )
    return services.task_create(actor=actor_of(request), new=new, channel=API)


@extend_schema_view(
    list=extend_schema(summary="List tasks", responses=s.TaskSerializer(many=True)),
    retrieve=extend_schema(summary="One task", responses=s.TaskSerializer),
)
class TaskViewSet(WorkViewSet):
    """Tasks the caller may see (agents and API keys)."""

    permission_classes = [StaffElseNotFound]
    serializer_class = s.TaskSerializer
    filterset_class = TaskFilter

    def get_queryset(self):
        return with_task_related(tasks_visible_to(user=self.request.user))

    def _get(self, number) -> Task:
        return task_for(self.request.user, number)

    @extend_schema(
        summary="Create a standalone task",
        description="Needs task.create in the task's department (default: the settings' "
        "default task department). A ticket's task: POST /api/v1/tickets/{number}/tasks/.",
        examples=[
            OpenApiExample(
                "A task for an agent, due on Friday",
                request_only=True,
                value={
                    "title": "Renew the TLS certificate",
                    "description": "It expires on the 30th.",
                    "department": 1,
                    "assignee": 3,
                    "due_at": "2026-11-27T17:00:00Z",
                },
            )
        ],
        request={
            "application/json": s.TaskCreateSerializer,
            "multipart/form-data": s.TaskCreateSerializer,
        },
        responses={201: s.TaskSerializer},
    )
    def create(self, request):
        data, files = incoming(request, s.TaskCreateSerializer)
        return answer(request, task_open(request, data, files), status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a task's title, due date or custom fields",
        description="One task_edit call (task.edit); an open task only.",
        examples=[
            OpenApiExample(
                "A new title and no due date",
                request_only=True,
                value={"title": "Renew the TLS certificates", "due_at": None},
            )
        ],
        parameters=[IF_MATCH],
        request=s.TaskUpdateSerializer,
        responses=s.TaskSerializer,
    )
    def partial_update(self, request, number=None):
        actor = actor_of(request)

        def edit(task: Task, data: dict[str, Any]) -> Task:
            return services.task_edit(actor=actor, task=task, channel=API, **data)

        return self._act(number, s.TaskUpdateSerializer, edit)

    @extend_schema(
        summary="Delete a task (soft: its thread is kept, admins still see it)",
        parameters=[IF_MATCH],
        request=None,
        responses={200: s.TaskSerializer},
    )
    def destroy(self, request, number=None):
        actor = actor_of(request)

        def delete(task: Task, data: Any) -> Task:
            return services.task_delete(actor=actor, task=task, channel=API)

        return self._act(number, None, delete)

    # --- actions -------------------------------------------------------------------

    @task_action("Close the task", s.CommentSerializer)
    def close(self, actor, task, data):
        return services.task_close(actor=actor, task=task, comment=data["comment"], channel=API)

    @task_action("Reopen a closed task (its ticket must be open)", s.CommentSerializer)
    def reopen(self, actor, task, data):
        return services.task_reopen(actor=actor, task=task, comment=data["comment"], channel=API)

    @task_action("Assign the task to an agent and/or a team", s.AssignSerializer)
    def assign(self, actor, task, data):
        return services.task_assign(
            actor=actor,
            task=task,
            agent=data.get("agent"),
            team=data.get("team"),
            comment=data["comment"],
            channel=API,
        )

    @task_action("Claim the task (self-assign)", None)
    def claim(self, actor, task, data):
        return services.task_claim(actor=actor, task=task, channel=API)

    @task_action("Release the task's assignment", s.ReleaseSerializer)
    def release(self, actor, task, data):
        return services.task_release(
            actor=actor, task=task, agent=data["agent"], team=data["team"], channel=API
        )

    @task_action("Transfer the task to another department", s.TransferSerializer)
    def transfer(self, actor, task, data):
        return services.task_transfer(
            actor=actor,
            task=task,
            department=data["department"],
            comment=data["comment"],
            channel=API,
        )

    # --- thread ----------------------------------------------------------------------

    @extend_schema(
        methods=["get"],
        summary="The task's thread (every entry is internal)",
        responses=s.EntrySerializer(many=True),
    )
    @extend_schema(
        methods=["post"],
        summary="Post an update",
        description="An internal entry (task.reply), refused while another agent holds "
        "the task's lock. JSON with base64 `attachments`, or multipart/form-data with files "
        "under `attachments`.",
        examples=[
            OpenApiExample(
                "An update",
                request_only=True,
                value={"body": "Part ordered, arrives Tuesday.", "title": "Ordered"},
            )
        ],
        parameters=[IF_MATCH],
        request={
            "application/json": s.EntryBodySerializer,
            "multipart/form-data": s.EntryBodySerializer,
        },
        responses={201: s.EntrySerializer},
    )
    @action(methods=["get", "post"], **THREAD_LIST)
    def entries(self, request, number=None):
        task = self._get(number)
        if request.method == "GET":
            return self._entries(task.thread_id, include_notes=True)
        data, files = incoming(request, s.EntryBodySerializer)
        with guarded(request, task):
            entry = services.task_post_update(
                actor=actor_of(request),
                task=task,
                body=data["body"],
                title=data["title"],
                fmt=data["format"],
                files=files,
                source=ThreadEntry.Source.API,
                channel=API,
            )
        task.refresh_from_db(fields=["version"])
        return self._entry_posted(entry, task)
