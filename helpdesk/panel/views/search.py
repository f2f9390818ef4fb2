"""Quick search (with an htmx typeahead), advanced search, saving a search as a queue."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import services
from ..access import agent_of, agent_required
from ..forms import AdvancedSearchForm, SaveQueueForm, narrow_pickers
from ..http import attempt
from ..params import QuickSearchParams
from ..pickers import config_snapshot
from ..queues import DEFAULT_COLUMNS, SearchQueue
from ..rows import search_rows
from ..search import quick_search
from .common import frame_ahead, go, page
from .queues import render_queue


@agent_required
@require_GET
def search(request):
    params = QuickSearchParams(request.GET)
    if not params.is_valid():
        ctx = {"results": None, "q": request.GET.get("q", "")[:200]}
        ctx["query_errors"] = params.problems()
        if request.htmx:  # the typeahead: the errors in place of suggestions
            return render(request, "staff/_query_errors.html", ctx, status=400)
        return page(request, "staff/search.html", ctx, status=400)
    frame_ahead(request)
    results = quick_search(
        user=request.user, text=params.cleaned_data["q"], snapshot=config_snapshot(request)
    )
    if request.htmx and params.cleaned_data["suggest"]:
        return render(
            request, "staff/search/_suggest.html", {"results": results, "top": results.tickets[:8]}
        )
    if results.exact is not None and not request.htmx:
        return redirect("panel:ticket", results.exact.number)
    ctx = {"results": results, "q": results.text, "rows": search_rows(results)}
    return page(request, "staff/search.html", ctx)


@agent_required
@require_GET
def advanced(request):
    """The form; with criteria in the query string, their results as a queue. Bad
    criteria (or none at all) answer 400 with the form and its errors, no results."""
    form = narrow_pickers(AdvancedSearchForm(request.GET), request.user)
    asked = form.searched()
    if asked:
        form.require_some()
    searched = asked and form.is_valid()
    criteria = form.criteria() if searched else {}
    extra = {
        "form": form,
        "searched": searched,
        "criteria": criteria,
        "save_form": SaveQueueForm(initial={"columns": DEFAULT_COLUMNS, "sort": "-updated"}),
    }
    if not searched:
        status = 400 if asked else 200
        return page(request, "staff/search_advanced.html", extra, status=status)
    return render_queue(
        request, SearchQueue(criteria), template="staff/search_advanced.html", extra=extra
    )


@agent_required
@require_POST
def save_queue(request):
    search_form = AdvancedSearchForm(request.POST)
    form = SaveQueueForm(request.POST)
    if not (search_form.is_valid() and form.is_valid()):
        for errors in (*search_form.errors.values(), *form.errors.values()):
            for error in errors:  # messages: ErrorList turns its ValidationErrors into them
                messages.error(request, error)  # type: ignore[arg-type]  # (not the stubs)
        return go(request, reverse("panel:search_advanced"))
    d = form.cleaned_data
    outcome = attempt(
        request,
        lambda: services.queue_save(
            actor=agent_of(request),
            name=d["name"],
            criteria=search_form.criteria(),
            columns=d["columns"] or list(DEFAULT_COLUMNS),
            sort=d["sort"],
            shared=d["shared"],
        ),
    )
    if not outcome.ok:
        return go(request, reverse("panel:search_advanced") + "?" + request.POST.urlencode())
    messages.success(request, _("Queue saved."))
    return go(request, reverse("panel:queue", args=[outcome.value.slug]))
