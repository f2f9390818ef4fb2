"""The task page and everything done from it (as the ticket view, views/tickets.py).

GET renders the page (or, for htmx, the `#task` region). Each action is a POST that
validates a form, calls one task service, then answers with a redirect
(Post/Redirect/Get) or, for htmx, the refreshed region. A refusal is shown with its
HTTP status; a task the agent may not see is a 404 on every URL.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.errors import Conflict, NotVisible
from helpdesk.downloads import file_response
from helpdesk.params import query_refused
from threads.services import draft_save
from tickets import services
from tickets.models import Task
from tickets.services.tasks import task_fields

from ..access import agent_of, agent_required
from ..forms import custom_values, new_attachments
from ..http import TASK_FRIENDLY, attempt, report
from ..params import DownloadParams
from ..task_forms import (
    TaskAssignForm,
    TaskCommentForm,
    TaskEditForm,
    TaskTransferForm,
    TaskUpdateForm,
)
from ..task_selectors import task_attachment_for, task_for, task_page
from .common import form_errors_as_messages, go, invalid_status, lock_state, page

PANEL = "panel"


def task_url(task: Task) -> str:
    return reverse("panel:task", args=[task.number])


def task_or_404(request: HttpRequest, number: str) -> Task:
    try:
        return task_for(agent_of(request), number)
    except NotVisible:
        raise Http404("Task not found.") from None


def render_task(request, task, *, bound=None, status=200, open_panel=""):
    ctx = task_page(request.user, task)
    forms: dict[str, Form] = {
        "update": TaskUpdateForm(auto_id="update-%s", initial={"body": ctx["draft_update"]})
    }
    forms.update(bound or {})
    ctx["forms"] = forms
    ctx["open_panel"] = open_panel
    return page(request, "staff/task.html", ctx, partial="staff/task/_main.html", status=status)


@agent_required
@require_GET
def task_view(request, number):
    return render_task(request, task_or_404(request, number))


def _after(request, task, text: str):
    """Success: flash, then PRG (or the refreshed region for htmx)."""
    messages.success(request, text)
    try:
        fresh = task_for(agent_of(request), task.number)
    except NotVisible:
        messages.info(request, _("Task #%s is no longer in your view.") % task.number)
        return go(request, reverse("panel:tasks"))
    if request.htmx:
        return render_task(request, fresh)
    return go(request, task_url(fresh))


def carry_out_task(
    request: HttpRequest,
    task: Task,
    call: Callable[[], object],
    success: str,
    *,
    form: Form | None = None,
    panel: str = "",
) -> HttpResponse:
    """Run one task service call: done, flash `success` and show the task; refused,
    show the task with the refusal (and the form, open in its panel)."""
    outcome = attempt(request, call, form=form, friendly=TASK_FRIENDLY)
    if not outcome.ok:
        fresh = task_or_404(request, task.number)
        bound = {panel: form} if form is not None else None
        return render_task(request, fresh, bound=bound, status=outcome.status, open_panel=panel)
    return _after(request, task, success)


# --- the actions: (form, service call, message, title) ---------------------------------------
def _version(form) -> int | None:
    return form.cleaned_data.get("version") or None


def _edit(request, t, f):
    d = f.cleaned_data
    return services.task_edit(
        actor=agent_of(request),
        task=t,
        title=d["title"],
        due_at=d["due_at"],
        custom_fields=custom_values(f),
        channel=PANEL,
        expected_version=_version(f),
    )


def _assign(request, t, f):
    d = f.cleaned_data
    return services.task_assign(
        actor=agent_of(request),
        task=t,
        agent=d["agent"],
        team=d["team"],
        comment=d["comment"],
        channel=PANEL,
        expected_version=_version(f),
    )


def _transfer(request, t, f):
    d = f.cleaned_data
    return services.task_transfer(
        actor=agent_of(request),
        task=t,
        department=d["department"],
        comment=d["comment"],
        channel=PANEL,
        expected_version=_version(f),
    )


def _close(request, t, f):
    return services.task_close(
        actor=agent_of(request),
        task=t,
        comment=f.cleaned_data["comment"],
        channel=PANEL,
        expected_version=_version(f),
    )


def _reopen(request, t, f):
    return services.task_reopen(
        actor=agent_of(request),
        task=t,
        comment=f.cleaned_data["comment"],
        channel=PANEL,
        expected_version=_version(f),
    )


ACTIONS: dict[str, tuple[type[Form], Callable[..., Any], Callable[[], str], Callable[[], str]]] = {
    "edit": (TaskEditForm, _edit, lambda: _("Task updated."), lambda: _("Edit")),
    "assign": (TaskAssignForm, _assign, lambda: _("Task assigned."), lambda: _("Assign")),
    "transfer": (
        TaskTransferForm,
        _transfer,
        lambda: _("Task transferred."),
        lambda: _("Transfer"),
    ),
    "close": (TaskCommentForm, _close, lambda: _("Task closed."), lambda: _("Close")),
    "reopen": (TaskCommentForm, _reopen, lambda: _("Task reopened."), lambda: _("Reopen")),
}


def _form(name: str, data=None, *, initial=None) -> Form:
    form_class = ACTIONS[name][0]
    kwargs: dict[str, Any] = {"auto_id": f"{name}-%s", "initial": initial}
    if form_class is TaskEditForm:
        kwargs["custom_fields"] = task_fields()
    return form_class(data, **kwargs)


def action_form(task: Task, name: str) -> Form:
    """An unbound action form with the task's current values."""
    initial: dict[str, Any] = {"version": task.version}
    if name == "edit":
        values = {v.field.name: v.value for v in task.field_values.select_related("field")}
        initial |= {"title": task.title, "due_at": task.due_at}
        initial |= {f"cf_{name}": value for name, value in values.items()}
    return _form(name, initial=initial)


@agent_required
@require_http_methods(["GET", "POST"])
def task_action(request, number, action):
    if action not in ACTIONS:
        raise Http404
    task = task_or_404(request, number)
    if request.method == "GET":
        return _action_page(request, task, action)
    form = _form(action, request.POST)
    if not form.is_valid():
        if action != "edit":
            form_errors_as_messages(request, form)
        status = invalid_status(form)
        return render_task(request, task, bound={action: form}, status=status, open_panel=action)
    call, done = ACTIONS[action][1], ACTIONS[action][2]
    return carry_out_task(
        request, task, lambda: call(request, task, form), done(), form=form, panel=action
    )


def _action_page(request, task, name):
    """One action's form: the fragment an opening panel loads (htmx), or, without
    JavaScript, a page of its own that posts like the panel would."""
    ctx = {"task": task, "name": name, "form": action_form(task, name), "title": ACTIONS[name][3]()}
    if request.htmx:
        return render(request, "staff/task/_action_form.html", ctx)
    return page(request, "staff/task_action.html", ctx)


def posted_version(request) -> int | None:
    version = request.POST.get("version") or ""
    return int(version) if version.isdigit() and len(version) < 10 else None


@agent_required
@require_POST
def task_claim(request, number):
    task = task_or_404(request, number)
    return carry_out_task(
        request,
        task,
        lambda: services.task_claim(actor=agent_of(request), task=task, channel=PANEL),
        _("You claimed this task."),
    )


@agent_required
@require_POST
def task_release(request, number):
    task = task_or_404(request, number)
    return carry_out_task(
        request,
        task,
        lambda: services.task_release(
            actor=agent_of(request),
            task=task,
            channel=PANEL,
            expected_version=posted_version(request),
        ),
        _("Assignment released."),
    )


@agent_required
@require_POST
def task_delete(request, number):
    task = task_or_404(request, number)
    return carry_out_task(
        request,
        task,
        lambda: services.task_delete(
            actor=agent_of(request),
            task=task,
            channel=PANEL,
            expected_version=posted_version(request),
        ),
        _("Task #%s deleted.") % task.number,
    )


# --- updates, drafts and the lock --------------------------------------------------------------
@agent_required
@require_POST
def task_update(request, number):
    task = task_or_404(request, number)
    form = TaskUpdateForm(request.POST, request.FILES, auto_id="update-%s")
    if not form.is_valid():
        bound = {"update": form}
        return render_task(
            request, task, bound=bound, status=invalid_status(form), open_panel="update"
        )
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
    body = request.POST.get("body", "")[:100_000]
    draft_save(agent=request.user, namespace=f"{task.draft_namespace}update", body=body)
    ctx = {"task": task, "saved": True, **lock_state(request, task, break_lock=False)}
    return render(request, "staff/task/_draft_status.html", ctx)


@agent_required
@require_POST
def task_lock(request, number):
    task = task_or_404(request, number)
    state = lock_state(request, task, break_lock=request.POST.get("break") == "1")
    if request.htmx:
        return render(
            request,
            "staff/task/_draft_status.html",
            {"task": task, **state},
            status=409 if state["lock_error"] else 200,
        )
    if state["lock_error"]:
        report(request, Conflict(state["lock_error"], code="task_locked"))
    else:
        messages.success(request, _("You hold the lock on this task."))
    return go(request, task_url(task))


@agent_required
@require_POST
def task_unlock(request, number):
    task = task_or_404(request, number)
    services.task_lock_release(actor=agent_of(request), task=task)
    if request.htmx:
        return HttpResponse(status=204)
    return go(request, task_url(task))


@agent_required
@require_GET
def task_attachment(request, number, attachment_id, filename=None):
    task = task_or_404(request, number)
    att = task_attachment_for(task, attachment_id)
    if att is None:
        raise Http404
    params = DownloadParams(request.GET)
    if not params.is_valid():
        return query_refused(params)
    inline = params.cleaned_data["inline"]
    return file_response(att.file.file, att.filename, att.content_type, inline=inline)
