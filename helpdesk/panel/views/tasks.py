"""The task page and everything done from it (as the ticket view, views/tickets.py).

GET renders the page (or, for htmx, the `#task` region). Each action is a POST that
validates a form, calls one task service, then answers with a redirect
(Post/Redirect/Get) or, for htmx, the refreshed region. A refusal is shown with its
HTTP status; a task the agent may not see is a 404 on every URL.
"""

from typing import Any

from django.forms import Form
from django.http import HttpRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tickets import services
from tickets.models import Task
from tickets.services.tasks import task_fields

from ..access import agent_of, agent_required
from ..forms import custom_values, new_attachments
from ..http import TASK_FRIENDLY
from ..task_forms import (
    TaskAssignForm,
    TaskCommentForm,
    TaskEditForm,
    TaskTransferForm,
    TaskUpdateForm,
)
from ..task_selectors import task_for, task_page
from .common import draft_saved, lock_state, page
from .work import (
    PANEL,
    Action,
    Actions,
    Kind,
    action_view,
    attachment_view,
    button_view,
    form_version,
    invalid,
    lock_view,
    passes,
    unlock_view,
)
from .work import carry_out as carry_out_work


def task_url(task: Task) -> str:
    return reverse("panel:task", args=[task.number])


def render_task(request, task, *, bound=None, status=200, open_panel=""):
    ctx = task_page(request.user, task)
    forms: dict[str, Form] = {
        "update": TaskUpdateForm(auto_id="update-%s", initial={"body": ctx["draft_update"]})
    }
    forms.update(bound or {})
    ctx["forms"] = forms
    ctx["open_panel"] = open_panel
    return page(request, "staff/task.html", ctx, partial="staff/task/_main.html", status=status)


TASK = Kind(
    noun="task",
    find=lambda request, number: task_for(agent_of(request), number),
    render=render_task,
    home="panel:tasks",
    gone=lambda: _("Task #%s is no longer in your view."),
    held=lambda: _("You hold the lock on this task."),
    release_lock=services.task_lock_release,
    friendly=TASK_FRIENDLY,
)


def task_or_404(request: HttpRequest, number: str) -> Task:
    return TASK.get(request, number)


@agent_required
@require_GET
def task_view(request, number):
    return render_task(request, task_or_404(request, number))


def carry_out_task(request, task, call, success, *, form=None, panel=""):
    return carry_out_work(TASK, request, task, call, success, form=form, panel=panel)


# --- the actions: (form, service call, message, title) ---------------------------------------
def _edit(request, t, f):
    d = f.cleaned_data
    return services.task_edit(
        actor=agent_of(request),
        task=t,
        title=d["title"],
        due_at=d["due_at"],
        custom_fields=custom_values(f),
        channel=PANEL,
        expected_version=form_version(f),
    )


_assign = passes(TASK, services.task_assign, "agent", "team", "comment")
_transfer = passes(TASK, services.task_transfer, "department", "comment")
_close = passes(TASK, services.task_close, "comment")
_reopen = passes(TASK, services.task_reopen, "comment")


ACTIONS: dict[str, Action] = {
    "edit": (TaskEditForm, _edit, lambda: _("Task updated.")),
    "assign": (TaskAssignForm, _assign, lambda: _("Task assigned.")),
    "transfer": (TaskTransferForm, _transfer, lambda: _("Task transferred.")),
    "close": (TaskCommentForm, _close, lambda: _("Task closed.")),
    "reopen": (TaskCommentForm, _reopen, lambda: _("Task reopened.")),
}
TITLES = {
    "edit": lambda: _("Edit"),
    "assign": lambda: _("Assign"),
    "transfer": lambda: _("Transfer"),
    "close": lambda: _("Close"),
    "reopen": lambda: _("Reopen"),
}


def _form(name: str, data=None, *, initial=None) -> Form:
    form_class = ACTIONS[name][0]
    kwargs: dict[str, Any] = {"auto_id": f"{name}-%s", "initial": initial}
    if form_class is TaskEditForm:
        kwargs["custom_fields"] = task_fields()
    return form_class(data, **kwargs)


def action_form(request: HttpRequest, task: Task, name: str) -> Form:
    """An unbound action form with the task's current values."""
    initial: dict[str, Any] = {"version": task.version}
    if name == "edit":
        values = {v.field.name: v.value for v in task.field_values.select_related("field")}
        initial |= {"title": task.title, "due_at": task.due_at}
        initial |= {f"cf_{name}": value for name, value in values.items()}
    return _form(name, initial=initial)


task_action = action_view(
    Actions(
        kind=TASK,
        table=ACTIONS,
        titles=TITLES,
        bind=lambda task, name, data: _form(name, data),
        current=action_form,
    )
)

task_claim = button_view(
    TASK, services.task_claim, lambda t: _("You claimed this task."), versioned=False
)
task_release = button_view(TASK, services.task_release, lambda t: _("Assignment released."))
task_delete = button_view(TASK, services.task_delete, lambda t: _("Task #%s deleted.") % t.number)


# --- updates, drafts and the lock --------------------------------------------------------------
@agent_required
@require_POST
def task_update(request, number):
    task = task_or_404(request, number)
    form = TaskUpdateForm(request.POST, request.FILES, auto_id="update-%s")
    if not form.is_valid():
        return invalid(TASK, request, task, form, "update")
    d = form.cleaned_data
    return carry_out_task(
        request,
        task,
        lambda: services.task_post_update(
            actor=agent_of(request),
            task=task,
            body=d["body"],
            title=d["title"],
            files=new_attachments(d["attachments"]),
            channel=PANEL,
        ),
        _("Update posted."),
        form=form,
        panel="update",
    )


@agent_required
@require_POST
def task_draft(request, number):
    """Save the update's draft as the agent types, and take or renew the task's lock."""
    task = task_or_404(request, number)
    error = draft_saved(request, f"{task.draft_namespace}update")
    ctx = {"task": task, "saved": not error, "draft_error": error}
    ctx.update(lock_state(request, task, break_lock=False))
    return render(request, "staff/task/_draft_status.html", ctx, status=422 if error else 200)


task_lock = lock_view(TASK)
task_unlock = unlock_view(TASK)
task_attachment = attachment_view(TASK)
