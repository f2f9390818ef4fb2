"""Task queues (open, mine, my teams', overdue, closed), task search, bulk actions on
tasks and the standalone new-task page."""

from functools import partial

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.errors import DomainError, NotVisible
from tickets import services
from tickets.selectors import agent_scope, tasks_visible_to
from tickets.services.tasks import task_fields

from .. import keyset, selectors
from ..access import agent_of, agent_required, preferences_of
from ..forms import custom_values, narrow_pickers, new_attachments
from ..http import TASK_FRIENDLY, attempt, message_for
from ..pickers import config_snapshot, department_choices, team_choices
from ..queues import team_ids
from ..task_forms import TaskBulkForm, TaskForm, TaskQueueParams, TaskSearchParams
from ..task_queues import (
    COLUMNS,
    RELATED,
    column_labels,
    find_task_queue,
    kept_task_page,
    queue_tasks,
    task_queue_counts,
    task_queues,
    task_search,
)
from ..task_selectors import bulk_permissions
from .common import form_errors_as_messages, go, invalid_status, page

PANEL = "panel"


def _table(request) -> dict:
    """What a task table needs beside its rows: the columns, the bulk actions the
    agent's roles allow and their pickers (departments and teams: panel.pickers)."""
    user, snapshot = request.user, config_snapshot(request)
    return {
        "columns": COLUMNS,
        "labels": column_labels(),
        "bulk": bulk_permissions(user),
        "agents": selectors.agent_picker(user),
        "teams": team_choices(snapshot),
        "departments": department_choices(snapshot),
    }


def _frame(request) -> tuple[dict, dict]:
    """Around the table of a full page: the tabs, and their bounded counts to count with
    the page's (views.common.page(also_count=...))."""
    user = request.user
    tabs = task_queues()
    counts = task_queue_counts(user, tabs, team_ids(user))
    ctx = {
        "tabs": tabs,
        "may_create_task": selectors.any_role_allows(user, "task.create"),
        **_table(request),
    }
    return ctx, counts


def render_task_queue(request, slug: str):
    """A task queue page; bad `sort` or `cursor` answer 400 with the first page."""
    queue = find_task_queue(slug)
    if queue is None:
        raise Http404("No such queue.")
    user = request.user
    params = TaskQueueParams(request.GET, default_sort=queue.default_sort)
    problems = [] if params.is_valid() else params.problems()
    sort, descending = params.sorting()
    cursor = None if problems else params.cleaned_data.get("cursor")
    size = preferences_of(user).page_size
    scope = agent_scope(user)
    if scope is not None:  # the tab's statement kept compiled for the scope
        read = partial(kept_task_page, scope, slug, sort.field, descending, size)
        result = keyset.paginate(
            None, sort=sort, descending=descending, cursor=cursor, size=size, read=read
        )
    else:
        tasks = queue_tasks(user, slug, team_ids(user)).select_related(*RELATED)
        result = keyset.paginate(tasks, sort=sort, descending=descending, cursor=cursor, size=size)
    ctx = {
        "task_queue": queue,
        "page": result,
        "rows": result.rows,
        "sort": ("-" if descending else "") + sort.key,
        "query_errors": problems,
    }
    status = 400 if problems else 200
    if request.htmx and not request.htmx.boosted:  # sorting and paging: the table only
        ctx |= _table(request)
        return page(
            request, "staff/tasks.html", ctx, partial="staff/tasks/_table.html", status=status
        )
    around, counts = _frame(request)
    return page(request, "staff/tasks.html", {**around, **ctx}, status=status, also_count=counts)


@agent_required
@require_GET
def tasks_home(request):
    return render_task_queue(request, "open")


@agent_required
@require_GET
def task_queue(request, slug):
    return render_task_queue(request, slug)


@agent_required
@require_GET
def task_search_view(request):
    """A task by its number opens; words list the matching tasks the agent may see."""
    params = TaskSearchParams(request.GET)
    if not params.is_valid():
        ctx = {"results": None, "q": request.GET.get("q", "")[:200], "searched": True}
        ctx["query_errors"] = params.problems()
        around, counts = _frame(request)
        return page(request, "staff/tasks.html", {**around, **ctx}, status=400, also_count=counts)
    results = task_search(user=request.user, text=params.cleaned_data["q"])
    if results.exact is not None:
        return redirect("panel:task", results.exact.number)
    ctx = {"results": results, "q": results.text, "searched": True}
    around, counts = _frame(request)
    return page(request, "staff/tasks.html", {**around, **ctx}, also_count=counts)


# --- bulk actions: each task through its service, refusals reported per task ----------------
def _bulk_call(request, action, data, task):
    actor = agent_of(request)
    if action == "assign":
        return services.task_assign(
            actor=actor, task=task, agent=data["agent"], team=data["team"], channel=PANEL
        )
    if action == "transfer":
        return services.task_transfer(
            actor=actor, task=task, department=data["department"], channel=PANEL
        )
    if action == "close":
        return services.task_close(actor=actor, task=task, channel=PANEL)
    return services.task_delete(actor=actor, task=task, channel=PANEL)


@agent_required
@require_POST
def task_bulk(request):
    back = request.POST.get("next") or reverse("panel:tasks")
    if not back.startswith("/scp/tasks/"):
        back = reverse("panel:tasks")
    form = narrow_pickers(TaskBulkForm(request.POST), request.user)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return go(request, back)
    data, action, numbers = (
        form.cleaned_data,
        form.cleaned_data["action"],
        form.cleaned_data["tasks"],
    )
    found = {
        t.number: t
        for t in tasks_visible_to(user=request.user)
        .select_related(*RELATED)
        .filter(number__in=numbers)
    }
    done = 0
    for number in numbers:
        task = found.get(number)
        try:
            if task is None:
                raise NotVisible("Task not found.", code="task_not_found")
            _bulk_call(request, action, data, task)
            done += 1
        except NotVisible:
            messages.warning(request, _("#%(n)s: task not found.") % {"n": number})
        except DomainError as exc:
            messages.warning(request, f"#{number}: {message_for(exc, TASK_FRIENDLY)}")
    if done:
        messages.success(request, _("%(n)d task(s) updated.") % {"n": done})
    return go(request, back)


# --- a standalone task ---------------------------------------------------------------------
@agent_required
@require_http_methods(["GET", "POST"])
def task_new(request):
    """A task of no ticket: the department chosen, else the settings' default one."""
    fields = task_fields()
    if request.method == "GET":
        form = narrow_pickers(TaskForm(auto_id="task-%s", custom_fields=fields), request.user)
        return page(request, "staff/task_new.html", {"form": form})
    form = TaskForm(request.POST, request.FILES, auto_id="task-%s", custom_fields=fields)
    narrow_pickers(form, request.user)
    if not form.is_valid():
        return page(request, "staff/task_new.html", {"form": form}, status=invalid_status(form))
    outcome = attempt(request, lambda: create_task(request, form), form=form)
    if not outcome.ok:
        return page(request, "staff/task_new.html", {"form": form}, status=outcome.status)
    task = outcome.value
    messages.success(request, _("Task #%s created.") % task.number)
    return go(request, reverse("panel:task", args=[task.number]))


def create_task(request, form, *, ticket=None, entry=None):
    """task_create with the form's values (of a ticket, from one of its entries)."""
    d = form.cleaned_data
    return services.task_create(
        actor=agent_of(request),
        new=services.NewTask(
            title=d["title"],
            description=d["description"],
            department=d["department"],
            assignee=d["agent"],
            team=d["team"],
            due_at=d["due_at"],
            ticket=ticket,
            entry=entry,
            custom_fields=custom_values(form),
            files=new_attachments(d["attachments"]),
        ),
        channel=PANEL,
    )
