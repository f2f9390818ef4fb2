"""Exports of the queues, the advanced search's results and the task queues (POST, the
page's query string kept: same filters and sort), and the download of an export file
written by a job (its requester only: anyone else, or after it expired, a 404)."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import exports
from helpdesk.downloads import open_stored
from helpdesk.exports.models import ExportJob
from helpdesk.exports.selectors import export_get_for, exports_for_list
from helpdesk.exports.writers import CONTENT_TYPES

from ..access import agent_of, agent_required
from ..forms import AdvancedSearchForm, narrow_pickers
from ..http import attempt
from ..task_queues import find_task_queue
from .common import go, page
from .queues import find_queue


def _format(request) -> str | None:
    fmt = request.POST.get("format", "")
    return fmt if fmt in ExportJob.Format.values else None


def _export(request, *, kind: str, params: dict, back: str):
    fmt = _format(request)
    if fmt is None:
        return HttpResponseBadRequest(_("Give the format: csv or xlsx."))
    agent_of(request)
    outcome = attempt(
        request,
        lambda: exports.respond(request, kind=kind, params=params, format=fmt, back=back),
    )
    return outcome.value if outcome.ok else go(request, back)


def _back(path: str, request) -> str:
    query = request.GET.urlencode()
    return f"{path}?{query}" if query else path


@agent_required
@require_POST
def queue_export(request, slug):
    find_queue(request.user, slug)  # 404 for a queue the agent does not have
    params = {"slug": slug, "sort": request.GET.get("sort", "")}
    back = _back(reverse("panel:queue", args=[slug]), request)
    return _export(request, kind="panel.queue", params=params, back=back)


@agent_required
@require_POST
def search_export(request):
    """The advanced search's results; bad criteria (or none) export nothing: back to the
    search page, which shows their errors."""
    form = narrow_pickers(AdvancedSearchForm(request.GET), request.user)
    back = _back(reverse("panel:search_advanced"), request)
    if form.searched():
        form.require_some()
    if not (form.searched() and form.is_valid()):
        return go(request, back)
    params = {"criteria": form.criteria(), "sort": request.GET.get("sort", "")}
    return _export(request, kind="panel.search", params=params, back=back)


@agent_required
@require_POST
def task_queue_export(request, slug):
    if find_task_queue(slug) is None:
        raise Http404("No such queue.")
    params = {"slug": slug, "sort": request.GET.get("sort", "")}
    back = _back(reverse("panel:task_queue", args=[slug]), request)
    return _export(request, kind="panel.task_queue", params=params, back=back)


@agent_required
@require_GET
def exports_list(request):
    """The agent's exports written by a job: ready (with the link), running, failed."""
    items = exports_for_list(user=request.user)
    return page(request, "staff/exports.html", {"exports": items, "now": timezone.now()})


@agent_required
@require_GET
def export_download(request, export_id: int):
    job = export_get_for(user=request.user, pk=export_id)
    if job is None or not default_storage.exists(job.file_name):
        raise Http404("No such export.")
    # streamed from object storage as the bytes arrive, never the whole file in memory
    response = FileResponse(
        open_stored(default_storage, job.file_name),
        as_attachment=True,
        filename=job.download_name,
        content_type=CONTENT_TYPES[job.format],
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
