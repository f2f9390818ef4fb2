"""Managing users and organizations from the panel (osTicket's Users and
Organizations tabs): each page checks the agent-wide permission of its action (a styled
refusal without it), validates a form and calls one service (accounts.services,
tickets.services.people_fields: the record with its custom fields, tickets.services.people,
helpdesk.portal.services)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions as perms
from accounts.errors import ValidationFailed
from accounts.models import Organization, User
from accounts.selectors import clients
from accounts.services import (
    organization_delete,
    user_lock,
    user_send_password_reset,
)
from helpdesk.portal.services import invitation_create
from tickets.customfields import field_rows, fields_for_scope
from tickets.models import CustomForm
from tickets.services.people import user_delete, user_merge
from tickets.services.people_fields import (
    organization_create_with_fields,
    organization_update_with_fields,
    user_create_with_fields,
    user_update_with_fields,
    users_csv_parse_with_fields,
    users_import_with_fields,
)

from ..access import agent_of, agent_required, perm_required
from ..http import attempt
from ..people_forms import (
    ImportForm,
    OrganizationForm,
    UserDeleteForm,
    UserForm,
    UserMergeForm,
)
from .common import go, page

FORM_METHODS = require_http_methods(["GET", "POST"])
USER_SCOPE = CustomForm.Scope.USER
ORG_SCOPE = CustomForm.Scope.ORGANIZATION


def _client(user_id: int) -> User:
    """A client (agents are managed in the admin, the placeholder of deleted users is
    not edited): 404 otherwise."""
    return get_object_or_404(clients().select_related("organization"), pk=user_id)


def _user_url(user: User) -> str:
    return reverse("panel:user", args=[user.pk])


def _org_url(org: Organization) -> str:
    return reverse("panel:org", args=[org.pk])


def _form_page(request, template: str, ctx: dict, ok: bool, outcome=None):
    status = 200 if ok else (outcome.status if outcome is not None else 422)
    return page(request, template, ctx, status=status)


# --- users ------------------------------------------------------------------------------


@perm_required("user.create")
@FORM_METHODS
def user_new(request):
    form = UserForm(request.POST or None, custom_fields=fields_for_scope(USER_SCOPE))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        outcome = attempt(
            request,
            lambda: user_create_with_fields(
                actor=agent_of(request),
                custom_fields=form.custom_values(),
                email=d["email"],
                name=d["name"],
                phone=d["phone"],
                organization=d["organization"],
                notes=d["notes"],
                is_primary_contact=d["is_primary_contact"],
                emails=d["extra_emails"],
            ),
            form=form,
        )
        if outcome.ok:
            messages.success(request, _("User %s added.") % outcome.value.email)
            return go(request, _user_url(outcome.value))
        return _form_page(request, "staff/people/user_form.html", {"form": form}, False, outcome)
    status = 422 if request.method == "POST" else 200
    return page(request, "staff/people/user_form.html", {"form": form}, status=status)


@perm_required("user.edit")
@FORM_METHODS
def user_edit(request, user_id):
    client = _client(user_id)
    initial = {
        "name": client.name,
        "email": client.email,
        "extra_emails": "\n".join(client.extra_emails.values_list("email", flat=True)),
        "phone": client.phone,
        "organization": client.organization,
        "is_primary_contact": client.is_primary_contact,
        "notes": client.notes,
        **UserForm.custom_initial(field_rows(client, USER_SCOPE)),
    }
    form = UserForm(
        request.POST or None, initial=initial, custom_fields=fields_for_scope(USER_SCOPE)
    )
    ctx = {"form": form, "client": client}
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        data = {k: d[k] for k in ("name", "email", "phone", "organization", "notes")}
        data["is_primary_contact"] = d["is_primary_contact"]
        outcome = attempt(
            request,
            lambda: user_update_with_fields(
                actor=agent_of(request),
                user=client,
                data=data,
                emails=d["extra_emails"],
                custom_fields=form.custom_values(),
            ),
            form=form,
        )
        if outcome.ok:
            messages.success(request, _("Saved."))
            return go(request, _user_url(client))
        client.refresh_from_db()
        return _form_page(request, "staff/people/user_form.html", ctx, False, outcome)
    status = 422 if request.method == "POST" else 200
    return page(request, "staff/people/user_form.html", ctx, status=status)


@perm_required("user.delete")
@FORM_METHODS
def user_remove(request, user_id):
    client = _client(user_id)
    form = UserDeleteForm(request.POST or None)
    ctx = {"form": form, "client": client, "ticket_count": client.tickets.count()}
    if request.method == "POST" and form.is_valid():
        fate = form.cleaned_data["tickets"]
        outcome = attempt(
            request,
            lambda: user_delete(actor=agent_of(request), user=client, tickets=fate),
            form=form,
        )
        if outcome.ok:
            messages.success(request, _("User %s deleted.") % client.email)
            return go(request, reverse("panel:users"))
        return _form_page(request, "staff/people/user_delete.html", ctx, False, outcome)
    status = 422 if request.method == "POST" else 200
    return page(request, "staff/people/user_delete.html", ctx, status=status)


@agent_required
@FORM_METHODS
def user_merge_view(request, user_id):
    for perm in ("user.edit", "user.delete"):  # the refusal page names the one missing
        perms.require_agent_perm(request.user, perm)
    client = _client(user_id)
    form = UserMergeForm(request.POST or None)
    ctx = {"form": form, "client": client}
    if request.method == "POST" and form.is_valid():
        other = form.cleaned_data["other"]
        outcome = attempt(
            request,
            lambda: user_merge(actor=agent_of(request), keep=client, merge=other),
            form=form,
        )
        if outcome.ok:
            messages.success(request, _("%s merged into this user.") % other.email)
            return go(request, _user_url(client))
        return _form_page(request, "staff/people/user_merge.html", ctx, False, outcome)
    status = 422 if request.method == "POST" else 200
    return page(request, "staff/people/user_merge.html", ctx, status=status)


ACCOUNT_ACTIONS = {
    "lock": (lambda a, u: user_lock(actor=a, user=u, locked=True), _("Account locked.")),
    "unlock": (lambda a, u: user_lock(actor=a, user=u, locked=False), _("Account unlocked.")),
    "reset": (
        lambda a, u: user_send_password_reset(actor=a, user=u),
        _("A password reset link is on its way."),
    ),
    "invite": (
        lambda a, u: invitation_create(actor=a, email=u.email, name=u.name),
        _("An invitation to register is on its way."),
    ),
}


@agent_required
@require_POST
def user_account(request, user_id, action):
    """Register (invite), lock, unlock, or send a password reset (user.manage)."""
    if action not in ACCOUNT_ACTIONS:
        raise Http404
    perms.require_agent_perm(request.user, "user.manage")
    client = _client(user_id)
    call, done = ACCOUNT_ACTIONS[action]
    outcome = attempt(request, lambda: call(agent_of(request), client))  # refusals: flashed
    if outcome.ok:
        messages.success(request, str(done))
    return go(request, _user_url(client))


@agent_required
@FORM_METHODS
def user_import(request):
    """Upload or paste a CSV file, see every row with its errors, then import: nothing
    is written while any row is invalid, unless "skip invalid" is ticked."""
    perms.require_agent_perm(request.user, "user.create")
    form = ImportForm(request.POST or None, request.FILES or None)
    ctx: dict = {"form": form}
    if request.method != "POST":
        return page(request, "staff/people/user_import.html", ctx)
    if not form.is_valid():
        return page(request, "staff/people/user_import.html", ctx, status=422)
    text = form.cleaned_data["text"]
    ctx["text"] = text
    try:
        rows = users_csv_parse_with_fields(text)
    except ValidationFailed as exc:
        form.add_error(None, exc.message)
        return page(request, "staff/people/user_import.html", ctx, status=422)
    ctx["rows"] = rows
    ctx["extra_columns"], ctx["previews"] = _import_preview(rows)
    ctx["invalid"] = sum(1 for r in rows if not r.is_valid)
    if not form.cleaned_data["confirm"]:
        return page(request, "staff/people/user_import.html", ctx)
    skip = form.cleaned_data["skip_invalid"]
    outcome = attempt(
        request,
        lambda: users_import_with_fields(actor=agent_of(request), text=text, skip_invalid=skip),
        form=form,
    )
    if not outcome.ok:
        return page(request, "staff/people/user_import.html", ctx, status=outcome.status)
    result = outcome.value
    messages.success(
        request,
        _("%(created)d users imported, %(skipped)d rows skipped.")
        % {"created": len(result.created), "skipped": len(result.skipped)},
    )
    return go(request, reverse("panel:users"))


def _import_preview(rows) -> tuple[list[str], list[tuple]]:
    """The labels of the file's user-field columns, and each row with its cells of them."""
    names = list(rows[0].extra) if rows else []
    labels = {f.name: f.label for f in fields_for_scope(USER_SCOPE)}
    return [labels.get(n, n) for n in names], [(r, [r.extra[n] for n in names]) for r in rows]


# --- organizations ------------------------------------------------------------------------


@perm_required("org.create")
@FORM_METHODS
def org_new(request):
    form = OrganizationForm(
        request.POST or None, user=request.user, custom_fields=fields_for_scope(ORG_SCOPE)
    )
    ctx = {"form": form}
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        outcome = attempt(
            request,
            lambda: organization_create_with_fields(
                actor=agent_of(request),
                custom_fields=form.custom_values(),
                name=d["name"],
                domains=d["domains"],
                sharing=d["sharing"],
                notes=d["notes"],
                settings=form.settings(),
            ),
            form=form,
        )
        if outcome.ok:
            messages.success(request, _("Organization %s created.") % outcome.value.name)
            return go(request, _org_url(outcome.value))
        return _form_page(request, "staff/people/org_form.html", ctx, False, outcome)
    status = 422 if request.method == "POST" else 200
    return page(request, "staff/people/org_form.html", ctx, status=status)


@perm_required("org.edit")
@FORM_METHODS
def org_edit(request, org_id):
    org = get_object_or_404(Organization, pk=org_id)
    initial = {
        **OrganizationForm.initial_for(org),
        **OrganizationForm.custom_initial(field_rows(org, ORG_SCOPE)),
    }
    form = OrganizationForm(
        request.POST or None,
        user=request.user,
        organization=org,
        initial=initial,
        custom_fields=fields_for_scope(ORG_SCOPE),
    )
    ctx = {"form": form, "org": org}
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        data = {"name": d["name"], "sharing": d["sharing"], "notes": d["notes"], **form.settings()}
        outcome = attempt(
            request,
            lambda: organization_update_with_fields(
                actor=agent_of(request),
                organization=org,
                data=data,
                domains=d["domains"],
                primary_contacts=list(d["primary_contacts"]),
                custom_fields=form.custom_values(),
            ),
            form=form,
        )
        if outcome.ok:
            messages.success(request, _("Saved."))
            return go(request, _org_url(org))
        org.refresh_from_db()
        return _form_page(request, "staff/people/org_form.html", ctx, False, outcome)
    status = 422 if request.method == "POST" else 200
    return page(request, "staff/people/org_form.html", ctx, status=status)


@perm_required("org.delete")
@FORM_METHODS
def org_remove(request, org_id):
    org = get_object_or_404(Organization, pk=org_id)
    if request.method == "POST":
        outcome = attempt(
            request, lambda: organization_delete(actor=agent_of(request), organization=org)
        )
        if outcome.ok:
            messages.success(request, _("Organization %s deleted.") % org.name)
            return go(request, reverse("panel:orgs"))
        return page(request, "staff/people/org_delete.html", {"org": org}, status=outcome.status)
    ctx = {"org": org, "member_count": org.members.count()}
    return page(request, "staff/people/org_delete.html", ctx)
