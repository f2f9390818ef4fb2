"""Clients and organizations, with their tickets (only those the agent may see)."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts import permissions as perms
from accounts.errors import PermissionRefused
from accounts.models import Organization, User
from tickets.selectors import tickets_visible_to

from .. import keyset, selectors
from ..access import agent_required
from ..params import DirectoryParams
from ..queues import RELATED
from .common import page

BY_EMAIL = keyset.Sort("email", "email", "Email")
BY_NAME = keyset.Sort("name", "name", "Name")
LIMIT = 50


def _may_browse(user) -> bool:
    return perms.has_agent_perm(user, "user.dir")


def _forbidden():
    """Raise: agent_required answers with the panel's refusal page, naming user.dir."""
    raise PermissionRefused(
        _("You need the user.dir permission to browse the directory."),
        extra={"permission": "user.dir"},
    )


def _listing(request, rows, sort):
    """(context, status) of a directory page: `q` and `cursor` checked, 400 with the
    errors and the first page of the whole list when they are bad."""
    params = DirectoryParams(request.GET, sort_key=sort.key, sort_field=sort.field)
    if params.is_valid():
        q, cursor, problems = params.cleaned_data["q"], params.cleaned_data["cursor"], []
    else:
        q, cursor, problems = "", None, params.problems()
    result = keyset.paginate(rows(q), sort=sort, descending=False, cursor=cursor, size=LIMIT)
    ctx = {"page": result, "q": request.GET.get("q", "")[:200], "query_errors": problems}
    return ctx, 400 if problems else 200


@agent_required
@require_GET
def users(request):
    if not _may_browse(request.user):
        return _forbidden()
    ctx, status = _listing(request, selectors.clients, BY_EMAIL)
    return page(request, "staff/users.html", ctx, partial="staff/users/_list.html", status=status)


def _tickets_of(request, **lookup):
    return list(
        tickets_visible_to(user=request.user)
        .filter(**lookup)
        .select_related(*RELATED)
        .order_by("-updated_at", "-pk")[:LIMIT]
    )


@agent_required
@require_GET
def user_detail(request, user_id):
    if not _may_browse(request.user):
        return _forbidden()
    client = get_object_or_404(User.objects.select_related("organization"), pk=user_id)
    if client.is_agent and not request.user.is_helpdesk_admin:
        raise Http404
    ctx = {
        "client": client,
        "tickets": _tickets_of(request, requester=client),
        "may_open": selectors.any_role_allows(request.user, "ticket.create"),
    }
    return page(request, "staff/user_detail.html", ctx)


@agent_required
@require_GET
def organizations(request):
    if not _may_browse(request.user):
        return _forbidden()
    ctx, status = _listing(request, selectors.organizations, BY_NAME)
    return page(request, "staff/orgs.html", ctx, status=status)


@agent_required
@require_GET
def organization_detail(request, org_id):
    if not _may_browse(request.user):
        return _forbidden()
    org = get_object_or_404(Organization, pk=org_id)
    ctx = {
        "org": org,
        "members": list(org.members.order_by("name", "email")[:200]),
        "tickets": _tickets_of(request, organization=org),
    }
    return page(request, "staff/org_detail.html", ctx)
