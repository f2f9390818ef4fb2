"""Helpers shared by the panel views: the page frame (sidebar), PRG answers, htmx."""

from collections.abc import Mapping

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect

from accounts import permissions as perms
from accounts.errors import Conflict, NotVisible, PermissionRefused, ValidationFailed
from helpdesk import apart
from helpdesk.alerts.selectors import unread_alerts
from helpdesk.attachments import to_attachments
from helpdesk.counts import Capped
from helpdesk.ops.selectors import banner_for
from threads.services import draft_save
from tickets import services
from tickets.models import Task, Ticket
from tickets.selectors import ticket_get_for

from .. import selectors
from ..access import agent_of
from ..forms import DraftForm
from ..pickers import config_snapshot
from ..task_queues import my_open_tasks


def frame(request, context: dict, also_count: Mapping[str, Capped] | None = None) -> dict:
    """Context every full page needs: the queues and their counts, the agent's open
    tasks (the header's "Tasks" link), their unread alerts (the bell), the menu
    switches. Every count (and the page's own `also_count`) in one statement; counted
    apart when the view started them (frame_ahead) and the page counts nothing more."""
    user = request.user
    counted = None if also_count else apart.result(getattr(request, "panel_frame", None))
    side, tasks, bell = counted or _frame_counts(user, also_count)
    return {
        **context,
        "sidebar": side,
        "my_tasks_count": tasks,
        "alerts_unread": bell,
        "may_manage_faq": user.is_helpdesk_admin or "faq.manage" in (user.permissions or ()),
        "may_browse_users": user.is_helpdesk_admin or "user.dir" in (user.permissions or ()),
        "may_banlist": perms.has_agent_perm(user, "emails.banlist"),
        "may_agent_stats": perms.has_agent_perm(user, "stats.agents"),
        "kb_enabled": kb_enabled(),
        "ops_banner": banner_for(user),  # admins only (helpdesk.ops)
    }


def frame_ahead(request) -> None:
    """Start the frame's counts on another database connection (helpdesk.apart) when
    this request will answer a full page: PostgreSQL counts while the view builds the
    page. A view showing a full page calls it first; `frame` takes the counts."""
    htmx = getattr(request, "htmx", None)
    if request.method != "GET" or (htmx and not htmx.boosted) or not apart.enabled():
        return
    request.panel_frame = apart.submit(_frame_counts, request.user)


def _frame_counts(user, also_count: Mapping[str, Capped] | None = None) -> tuple:
    """(the sidebar, the agent's open tasks, their unread alerts): one statement."""
    tasks, bell = my_open_tasks(user), unread_alerts(user=user)
    side = selectors.sidebar(
        user, also={"frame:tasks": tasks, "frame:bell": bell, **(also_count or {})}
    )
    return side, tasks.value, bell.value


def kb_enabled() -> bool:
    from ..urls import KB_ENABLED

    return KB_ENABLED


def page(
    request,
    template: str,
    context: dict,
    *,
    partial: str | None = None,
    status=200,
    also_count: Mapping[str, Capped] | None = None,
):
    """A full page, or only `partial` when htmx asks (no sidebar queries then).
    `also_count`: the page's own counts, counted with the frame's (a full page only)."""
    if partial and request.htmx and not request.htmx.boosted:
        return render(request, partial, {**context, "as_partial": True}, status=status)
    return render(request, template, frame(request, context, also_count), status=status)


def go(request, url: str):
    """Post/Redirect/Get; for htmx, a client-side redirect."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def ticket_or_404(request, number: str) -> Ticket:
    try:
        return ticket_get_for(user=request.user, number=number, snapshot=config_snapshot(request))
    except NotVisible:
        raise Http404("Ticket not found.") from None


def invalid_status(form) -> int:
    """A refused form: 400 when its files were refused (bad input, as the portal and the
    API answer), otherwise the panel's 422 for values that break a rule."""
    return 400 if "attachments" in form.errors else 422


def form_errors_as_messages(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


def lock_state(request, work: Ticket | Task, *, break_lock: bool) -> dict:
    """Take or renew the agent's edit lock on a ticket or task (their thread's lock):
    {"lock", "lock_error"} for the draft status, and who holds it when refused."""
    agent = agent_of(request)
    try:
        if isinstance(work, Task):
            lock = services.task_lock_acquire(actor=agent, task=work, break_lock=break_lock)
        else:
            lock = services.ticket_lock_acquire(actor=agent, ticket=work, break_lock=break_lock)
        return {"lock": lock, "lock_error": None}
    except NotVisible:
        raise Http404 from None
    except (Conflict, PermissionRefused) as exc:
        return {
            "lock": services.active_lock(work),
            "lock_error": exc.message,
            "may_break_lock": services.may_break_lock(request.user, work),
        }


def draft_saved(request, namespace: str) -> str:
    """Save the agent's draft from an autosave post (its body and pasted images:
    threads.services.draft_save). "" when saved, else why not (nothing was saved)."""
    form = DraftForm(request.POST, request.FILES)
    if not form.is_valid():
        return " ".join(str(e) for errors in form.errors.values() for e in errors)
    d = form.cleaned_data
    try:
        draft_save(
            agent=request.user,
            namespace=namespace,
            body=d["body"],
            images=to_attachments(d["inline_images"]),
        )
    except ValidationFailed as refused:
        return str(refused)
    return ""
