"""The landing queue, the queues, the dashboard and bulk actions."""

from functools import partial

from django.contrib import messages
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.errors import DomainError, NotVisible
from helpdesk.alerts.selectors import unread_alerts
from tickets import services
from tickets.selectors import agent_scope, tickets_visible_to, with_configuration

from .. import keyset, selectors
from ..access import agent_of, agent_required, preferences_of
from ..forms import BulkForm, narrow_pickers
from ..http import attempt, message_for
from ..models import SavedQueue
from ..params import QueueParams
from ..pickers import bulk_statuses, config_snapshot, department_choices, team_choices
from ..queues import (
    COLUMN_SORT,
    COLUMNS,
    RELATED,
    SYSTEM_FILTERS,
    Queue,
    SearchQueue,
    queue_tickets,
    saved_queue,
    system_queues,
    team_ids,
)
from ..rows import ticket_rows
from .common import form_errors_as_messages, frame_ahead, go, page

PANEL = "panel"


def bulk_pickers(request) -> dict:
    """The bulk actions' pickers: agents (a query), the rest from the configuration
    cache (panel.pickers)."""
    snapshot = config_snapshot(request)
    return {
        "agents": selectors.agent_picker(request.user),
        "teams": team_choices(snapshot),
        "departments": department_choices(snapshot),
        "bulk_statuses": bulk_statuses(snapshot),
    }


# Refusals about the installation, not the ticket: the bulk action stops at the first.
BULK_STOPPERS = frozenset({"no_trash_status"})


def find_queue(user, slug: str):
    for q in system_queues(user):
        if q.slug == slug:
            return q
    if slug.startswith("q") and slug[1:].isdigit():
        saved = selectors.saved_queues_for(user).filter(pk=int(slug[1:])).first()
        if saved is not None:
            return saved_queue(saved)
    raise Http404("No such queue.")


def render_queue(request, queue, *, template="staff/queue.html", extra=None, problems=()):
    """A queue page. Bad `sort` or `cursor` (or `problems` of the caller's own parameters)
    answer 400: the first page in the queue's own order, with the errors above it."""
    frame_ahead(request)
    user = request.user
    params = QueueParams(request.GET, default_sort=queue.default_sort)
    problems = [*problems, *([] if params.is_valid() else params.problems())]
    status = 400 if problems else 422 if queue.problem else 200
    if queue.problem:  # a saved queue whose stored criteria no longer hold: no rows
        problems.append(queue.problem)
    sort, descending = params.sorting()
    size = preferences_of(user).page_size
    # a system queue's page for an agent of a scope: its statement kept compiled
    scope = agent_scope(user)
    kept = scope is not None and type(queue) is Queue and queue.slug in SYSTEM_FILTERS
    tickets = None
    if not kept:
        tickets = selectors.queue_rows(user, queue_tickets(user, queue, team_ids(user)))
        if queue.problem:
            tickets = tickets.none()
    cursor = None if problems else params.cleaned_data.get("cursor")
    snapshot = config_snapshot(request)
    result = keyset.paginate(
        tickets,
        sort=sort,
        descending=descending,
        cursor=cursor,
        size=size,
        loaded=lambda rows: with_configuration(rows, snapshot),
        read=partial(selectors.kept_queue_page, scope, queue.slug, sort.field, descending, size)
        if kept and scope is not None
        else None,
    )
    remembered = queue.slug if queue.saved is None else None
    if request.session.get("panel_queue") != remembered:  # for "next ticket"
        request.session["panel_queue"] = remembered
    columns = [(c, COLUMNS[c], COLUMN_SORT.get(c)) for c in queue.columns]
    ctx = {
        "queue": queue,
        "page": result,
        "rows": ticket_rows(result.rows, columns),  # the cells' HTML (panel.rows)
        "columns": columns,
        "sort": ("-" if descending else "") + sort.key,
        "bulk": selectors.bulk_permissions(user),
        **bulk_pickers(request),
        "path": request.path,
        "query_errors": problems,
        "export_url": reverse("panel:search_export")
        if isinstance(queue, SearchQueue)
        else reverse("panel:queue_export", args=[queue.slug]),
        **(extra or {}),
    }
    return page(request, template, ctx, partial="staff/queue/_table.html", status=status)


@agent_required
@require_GET
def home(request):
    return render_queue(request, find_queue(request.user, "open"))


@agent_required
@require_GET
def queue_view(request, slug):
    return render_queue(request, find_queue(request.user, slug))


@agent_required
@require_GET
def queue_counts(request):
    """The sidebar's queues and counts alone (htmx polls it every minute and after each
    action): the same bounded counts as a full page's sidebar, and the header's bell
    (swapped out of band)."""
    bell = unread_alerts(user=request.user)
    ctx = {
        "sidebar": selectors.sidebar(request.user, also={"bell": bell}),
        "current": request.GET.get("current", ""),
        "alerts_unread": bell.value,
    }
    return render(request, "staff/_queue_counts_refresh.html", ctx)


@agent_required
@require_GET
def dashboard(request):
    stats = selectors.dashboard(request.user)
    chart = stats["chart"]
    peak = max([1, *chart["opened"], *chart["closed"]])
    width, height = 600, 160
    step = width / len(chart["days"])
    bars = []
    for i, (day, opened, closed) in enumerate(
        zip(chart["days"], chart["opened"], chart["closed"], strict=True)
    ):
        x = i * step
        bars.append(
            {
                "day": day,
                "opened": opened,
                "closed": closed,
                "x_open": round(x + 1, 1),
                "x_closed": round(x + step / 2, 1),
                "w": round(step / 2 - 1, 1),
                "h_open": round(opened / peak * height, 1),
                "h_closed": round(closed / peak * height, 1),
                "y_open": round(height - opened / peak * height, 1),
                "y_closed": round(height - closed / peak * height, 1),
            }
        )
    ctx = {**stats, "bars": bars, "chart_w": width, "chart_h": height, "peak": peak}
    return page(request, "staff/dashboard.html", ctx)


# --- bulk actions: each ticket through its service, refusals reported per ticket ---------------
def _bulk_call(request, action, data, ticket):
    user = request.user
    if action == "assign":
        return services.ticket_assign(
            actor=user, ticket=ticket, agent=data["agent"], team=data["team"], channel=PANEL
        )
    if action == "transfer":
        return services.ticket_transfer(
            actor=user, ticket=ticket, department=data["department"], channel=PANEL
        )
    if action == "status":
        return services.ticket_set_status(
            actor=user, ticket=ticket, status=data["status"], channel=PANEL
        )
    return services.ticket_delete(actor=user, ticket=ticket, channel=PANEL)


@agent_required
@require_POST
def bulk(request):
    back = request.POST.get("next") or reverse("panel:home")
    if not back.startswith("/scp/"):
        back = reverse("panel:home")
    form = narrow_pickers(BulkForm(request.POST), request.user)
    if not form.is_valid():
        form_errors_as_messages(request, form)
        return go(request, back)
    data, action = form.cleaned_data, form.cleaned_data["action"]
    numbers = data["tickets"]
    found = {
        t.number: t
        for t in tickets_visible_to(user=request.user)
        .select_related(*RELATED)
        .filter(number__in=numbers)
    }
    missing = [n for n in numbers if n not in found]
    for n in missing:
        messages.warning(request, _("#%(n)s: ticket not found.") % {"n": n})
    if action == "merge":
        chosen = sorted(found.values(), key=lambda t: (t.created_at, t.pk))
        if len(chosen) >= 2:
            outcome = attempt(
                request,
                lambda: services.ticket_merge(
                    actor=agent_of(request), ticket=chosen[0], sources=chosen[1:], channel=PANEL
                ),
            )
            if outcome.ok:
                messages.success(
                    request,
                    _("Merged %(n)d tickets into #%(target)s.")
                    % {"n": len(chosen) - 1, "target": chosen[0].number},
                )
        return go(request, back)
    done = 0
    for number in numbers:
        ticket = found.get(number)
        if ticket is None:
            continue
        try:
            _bulk_call(request, action, data, ticket)
            done += 1
        except NotVisible:
            messages.warning(request, _("#%(n)s: ticket not found.") % {"n": number})
        except DomainError as exc:
            if exc.code in BULK_STOPPERS:  # the same answer for every ticket: say it once
                messages.error(request, message_for(exc))
                break
            messages.warning(request, _refusal(number, exc))
    if done:
        messages.success(request, _("%(n)d ticket(s) updated.") % {"n": done})
    return go(request, back)


def _refusal(number: str, exc: DomainError):
    """A ticket's refusal in the bulk report; open tasks that stop a close are linked."""
    tasks = exc.extra.get("tasks") if exc.code == "open_tasks" else None
    if not isinstance(tasks, list) or not tasks:
        return f"#{number}: {message_for(exc)}"
    links = format_html_join(
        ", ",
        '<a href="{}">#{}</a> ({})',
        ((reverse("panel:task", args=[t["number"]]), t["number"], t["title"]) for t in tasks),
    )
    return format_html(
        "#{}: {} {}",
        number,
        _("Not closed: its open tasks must be closed first:"),
        links,
    )


@agent_required
@require_POST
def queue_delete(request, slug):
    from .. import services as panel_services

    if not (slug.startswith("q") and slug[1:].isdigit()):
        raise Http404
    saved = SavedQueue.objects.filter(pk=int(slug[1:])).first()
    if saved is None or not (saved.owner_id == request.user.pk or saved.is_shared):
        raise Http404
    outcome = attempt(
        request, lambda: panel_services.queue_delete(actor=agent_of(request), queue=saved)
    )
    if outcome.ok:
        messages.success(request, _("Queue deleted."))
        return go(request, reverse("panel:home"))
    return go(request, reverse("panel:queue", args=[slug]))
