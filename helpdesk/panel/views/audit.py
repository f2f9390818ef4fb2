"""The audit log in the panel (/scp/audit/): helpdesk admins browse it, filtered by
actor, kind, object and dates, newest first (keyset pages), and export what they see as
CSV (streamed; the export is itself an entry). Everyone else gets the refusal page.
Reads through accounts.selectors; nothing here writes but the export's own entry."""

import datetime as dt
import json

from django import forms
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET

from accounts import audit
from accounts import selectors as account_selectors
from helpdesk.exports.formats import csv_response
from helpdesk.limits import MAX_ID
from helpdesk.params import DayField

from .. import keyset
from ..access import admin_required, agent_of
from ..params import KeysetParams
from .common import page

NEWEST = keyset.Sort("id", "id", gettext_lazy("Newest"))
LIMIT = 50
KINDS = sorted({action.split(".")[0] for action in audit.ACTIONS})
FILTERS = ("actor", "kind", "type", "id", "since", "until")


class AuditParams(KeysetParams):
    """The page's filters (a GET form: empty fields mean "any") and its cursor."""

    sort_key, sort_field = f"-{NEWEST.key}", NEWEST.field
    actor = forms.CharField(label=gettext_lazy("Actor"), required=False, max_length=255)
    kind = forms.CharField(
        label=gettext_lazy("Kind"),
        required=False,
        max_length=64,
        validators=[RegexValidator(r"^[a-z0-9_]+(\.[a-z0-9_]+)?$")],
    )
    type = forms.CharField(label=gettext_lazy("Object type"), required=False, max_length=100)
    id = forms.CharField(label=gettext_lazy("Object id"), required=False, max_length=64)
    since = DayField(label=pgettext_lazy("date range", "From"))
    until = DayField(label=pgettext_lazy("date range", "To"))
    blank_ok = frozenset(FILTERS)

    def clean_type(self):
        """ "app_label.model" as a ContentType (of the concrete model: an agent's entries
        are the user row's)."""
        label = (self.cleaned_data.get("type") or "").strip()
        if not label:
            return None
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            raise forms.ValidationError(_("No such kind of object.")) from None
        return ContentType.objects.get_for_model(model)

    def filters(self) -> dict:
        """The selector's arguments (none when the form is invalid: the page says why)."""
        if not self.is_valid():
            return {}
        d = self.cleaned_data
        zone = timezone.get_current_timezone()
        actor = d["actor"].strip()
        by_id = actor.isdigit() and 0 < int(actor) <= MAX_ID

        def start(day):
            return dt.datetime.combine(day, dt.time.min, tzinfo=zone) if day else None

        return {
            "actor_id": int(actor) if by_id else None,
            "actor_label": "" if by_id else actor,
            "kind": d["kind"],
            "target_type": d["type"],
            "target_id": d["id"].strip(),
            "since": start(d["since"]),
            "until": start(d["until"] + dt.timedelta(days=1)) if d["until"] else None,
        }


def _entries(request, params: AuditParams):
    entries = account_selectors.audit_entries_visible_to(user=agent_of(request))
    return account_selectors.audit_entries_filter(entries, **params.filters())


@admin_required
@require_GET
def audit_log(request):
    params = AuditParams(request.GET)
    status, problems = (200, []) if params.is_valid() else (400, params.problems())
    cursor = params.cleaned_data.get("cursor") if not problems else None
    rows = _entries(request, params) if not problems else _entries(request, AuditParams({}))
    result = keyset.paginate(rows, sort=NEWEST, descending=True, cursor=cursor, size=LIMIT)
    query = request.GET.copy()
    query.pop("cursor", None)
    ctx = {
        "page": result,
        "params": params,
        "kinds": KINDS,
        "query_errors": problems,
        "export_query": query.urlencode(),
    }
    return page(request, "staff/audit.html", ctx, status=status)


HEADER = (
    "at",
    "action",
    "actor kind",
    "actor",
    "actor user id",
    "address",
    "object type",
    "object id",
    "object",
    "changes",
    "detail",
)


@admin_required
@require_GET
def audit_export(request):
    """The entries the page's filters select, as CSV (all of them, newest first)."""
    params = AuditParams(request.GET)
    if not params.is_valid():
        ctx = {"page": keyset.Page([], None, None, LIMIT), "params": params, "kinds": KINDS}
        ctx["query_errors"] = params.problems()
        return page(request, "staff/audit.html", ctx, status=400)
    entries = _entries(request, params).order_by("-id")
    given = {k: v for k, v in request.GET.items() if k in FILTERS and v}
    audit.record(
        "export.created",
        actor=agent_of(request),
        target_label="audit log",
        detail=json.dumps(given, sort_keys=True),
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return csv_response(f"audit-log-{stamp}.csv", HEADER, _csv_rows(entries))


def _csv_rows(entries):
    for e in entries.iterator(chunk_size=2000):
        ct = e.target_type
        yield (
            e.at,
            e.action,
            e.actor_kind,
            e.actor_label,
            e.actor_user_id,
            e.ip,
            f"{ct.app_label}.{ct.model}" if ct else "",
            e.target_id,
            e.target_repr,
            json.dumps(e.changes, sort_keys=True, ensure_ascii=False) if e.changes else "",
            e.detail,
        )
