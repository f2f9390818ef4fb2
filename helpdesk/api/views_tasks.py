"""/api/v1/tasks/: thin adapters, each action one tickets.services.tasks call (channel
`api`), declared as the ticket endpoints are (helpdesk.api.work).

Agents and API keys only: for a client every task endpoint is an unknown route (404),
as tasks never reach the portal's users. Visibility comes from the selectors
(tasks_visible_to, task_get_for: 404 for a task the caller may not see), permissions
from the services (403: the role effective in the task's department; an API key's write
scope), state rules from the services (409), If-Match from `concurrency.guarded` (412).
"""

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request

from threads.models import ThreadEntry
from threads.services import NewAttachment
from tickets import services
from tickets.models import Task, Ticket

from . import serializers as s
from .concurrency import guarded
from .permissions import actor_of
from .uploads import incoming
from .work import (
    API,
    IF_MATCH,
    THREAD_LIST,
    WorkViewSet,
    answer,
    change_action,
    entries_schema,
    post_schema,
)

SOURCE = ThreadEntry.Source.API  # of the entries the API posts on a task's thread
# What a TaskCreateSerializer body gives a NewTask as it is (`format` is its `fmt`).
TASK_FIELDS = ("title", "description", "department", "assignee", "team", "due_at", "custom_fields")


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
    given = {name: data[name] for name in TASK_FIELDS if name in data}
    new = services.NewTask(
        **given,
        fmt=data["format"],
        ticket=ticket,
        entry=entry,
        files=files,
        source=SOURCE,
    )
    return services.task_create(actor=actor_of(request), new=new, channel=API)


class TaskViewSet(WorkViewSet, model=Task):
    """Tasks the caller may see (agents and API keys; for clients: 404)."""

    @post_schema(
        s.TaskCreateSerializer,
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

    @change_action("Close the task", s.CommentSerializer)
    def close(self, actor, task, data):
        return services.task_close(actor=actor, task=task, comment=data["comment"], channel=API)

    @change_action("Reopen a closed task (its ticket must be open)", s.CommentSerializer)
    def reopen(self, actor, task, data):
        return services.task_reopen(actor=actor, task=task, comment=data["comment"], channel=API)

    # --- thread ----------------------------------------------------------------------

    @entries_schema(
        listed="The task's thread (every entry is internal)",
        posted="Post an update",
        body=s.EntryBodySerializer,
        description="An internal entry (task.reply), refused while another agent holds "
        "the task's lock.",
        examples=[
            OpenApiExample(
                "An update",
                request_only=True,
                value={"body": "Part ordered, arrives Tuesday.", "title": "Ordered"},
            )
        ],
    )
    @action(methods=["get", "post"], **THREAD_LIST)
    def entries(self, request, number=None):
        task = self._get(number)
        if request.method == "GET":
            return self._entries(task.thread_id, include_notes=True)
        data, files = incoming(request, s.EntryBodySerializer)
        text = {"body": data["body"], "title": data["title"], "fmt": data["format"]}
        with guarded(request, task):
            entry = services.task_post_update(
                actor=actor_of(request), task=task, files=files, source=SOURCE, channel=API, **text
            )
        task.refresh_from_db(fields=["version"])
        return self._entry_posted(entry, task)
