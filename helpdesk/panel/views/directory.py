"""Clients and organizations, with their tickets (only those the agent may see)."""

from django.http import Http404, HttpResponseForbidden
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts import permissions as perms
from accounts.models import Organization, User
from tickets.selectors import tickets_visible_to

from .. import keyset, selectors
from ..access import agent_required
from ..queues import RELATED
from .common import page

BY_EMAIL = keyset.Sort("email", "email", "Email")
BY_NAME = keyset.Sort("name", "name", "Name")
LIMIT = 50


def _may_browse(user) -> bool:
    return perms.has_agent_perm(user, "user.dir")


def _forbidden():
    return HttpResponseForbidden(_("You need the user.dir permission to browse the directory."))


@agent_required
@require_GET
def users(request):
    if not _may_browse(request.user):
        return _forbidden()
    q = request.GET.get("q", "")
    result = keyset.paginate(
        selectors.clients(q),
        sort=BY_EMAIL,
        descending=False,
        cursor=request.GET.get("cursor"),
        size=LIMIT,
    )
    return page(
        request, "staff/users.html", {"page": result, "q": q}, partial="staff/users/_list.html"
    )


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
    q = request.GET.get("q", "")
    result = keyset.paginate(
        selectors.organizations(q),
        sort=BY_NAME,
        descending=False,
        cursor=request.GET.get("cursor"),
        size=LIMIT,
    )
    return page(request, "staff/orgs.html", {"page": result, "q": q})


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
