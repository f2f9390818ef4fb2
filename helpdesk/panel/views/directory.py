"""Clients and organizations, with their tickets (only those the agent may see), their
organization and their recent activity; the buttons of what the agent may change
(helpdesk.panel.views.people)."""

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from accounts import permissions as perms
from accounts.models import Organization, User
from threads.models import ThreadEntry
from tickets.customfields import field_rows
from tickets.models import CustomForm
from tickets.selectors import tickets_visible_to

from .. import keyset, selectors
from ..access import perm_required
from ..params import DirectoryParams
from ..queues import RELATED
from .common import page

BY_EMAIL = keyset.Sort("email", "email", "Email")
BY_NAME = keyset.Sort("name", "name", "Name")
LIMIT = 50


PEOPLE_PERMS = ("user.create", "user.edit", "user.delete", "user.manage")
ORG_PERMS = ("org.create", "org.edit", "org.delete")


def _may(user, keys) -> dict[str, bool]:
    """{"user_edit": True, ...}: what the page offers."""
    return {k.replace(".", "_"): perms.has_agent_perm(user, k) for k in keys}


def _with_ticket_counts(request, rows):
    """Each client's number of tickets the agent may see, in the list's one query."""
    visible = (
        tickets_visible_to(user=request.user)
        .filter(requester=OuterRef("pk"))
        .order_by()
        .values("requester")
        .annotate(n=Count("pk"))
        .values("n")
    )
    counted = Coalesce(Subquery(visible, output_field=IntegerField()), Value(0))
    return lambda q: rows(q).annotate(visible_tickets=counted)


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


@perm_required("user.dir")
@require_GET
def users(request):
    ctx, status = _listing(request, _with_ticket_counts(request, selectors.clients), BY_EMAIL)
    ctx["may"] = _may(request.user, PEOPLE_PERMS)
    return page(request, "staff/users.html", ctx, partial="staff/users/_list.html", status=status)


def _tickets_of(request, **lookup):
    return list(
        tickets_visible_to(user=request.user)
        .filter(**lookup)
        .select_related(*RELATED)
        .order_by("-updated_at", "-pk")[:LIMIT]
    )


@perm_required("user.dir")
@require_GET
def user_detail(request, user_id):
    client = get_object_or_404(User.objects.select_related("organization"), pk=user_id)
    if client.is_agent and not request.user.is_helpdesk_admin:
        raise Http404
    ctx = {
        "client": client,
        "emails": list(client.extra_emails.values_list("email", flat=True)),
        "custom_fields": field_rows(client, CustomForm.Scope.USER),
        "tickets": _tickets_of(request, requester=client),
        "activity": _activity_of(request, client),
        "may_open": not client.is_placeholder
        and selectors.any_role_allows(request.user, "ticket.create"),
        # the placeholder of deleted users keeps their tickets: shown, never changed
        "may": {} if client.is_placeholder else _may(request.user, PEOPLE_PERMS),
    }
    return page(request, "staff/user_detail.html", ctx)


def _activity_of(request, client, size: int = 10) -> list[ThreadEntry]:
    """What the client wrote lately, on tickets the agent may see (the requester's own
    and those they collaborate on), newest first, with the ticket's number."""
    visible = tickets_visible_to(user=request.user).values("thread_id")
    return list(
        ThreadEntry.objects.filter(poster=client, thread_id__in=visible)
        .select_related("thread__ticket")
        .only(
            "pk", "kind", "title", "created_at", "thread__ticket__number", "thread__ticket__subject"
        )
        .order_by("-created_at", "-pk")[:size]
    )


@perm_required("user.dir")
@require_GET
def organizations(request):
    ctx, status = _listing(request, selectors.organizations, BY_NAME)
    ctx["may"] = _may(request.user, ORG_PERMS)
    return page(request, "staff/orgs.html", ctx, status=status)


@perm_required("user.dir")
@require_GET
def organization_detail(request, org_id):
    org = get_object_or_404(
        Organization.objects.select_related("manager_agent", "manager_team"), pk=org_id
    )
    ctx = {
        "org": org,
        "domains": list(org.domains.values_list("domain", flat=True)),
        "custom_fields": field_rows(org, CustomForm.Scope.ORGANIZATION),
        "members": list(org.members.order_by("name", "email")[:200]),
        "tickets": _tickets_of(request, organization=org),
        "may": _may(request.user, ORG_PERMS),
    }
    return page(request, "staff/org_detail.html", ctx)
