"""A signed-in client's profile: name, time zone, language and the user fields clients
see (tickets.services.people_fields); password; further email addresses (added through
a link mailed to them). Guests behind a sign-in link have no profile: they are sent to
sign in."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.errors import DomainError, NotVisible
from accounts.services_profile import client_password_change, user_email_remove
from tickets.customfields import field_rows, fields_for_scope
from tickets.models import CustomForm
from tickets.services.people_fields import client_profile_update_with_fields

from ..forms import EmailAddForm, PasswordChangeForm, ProfileForm, add_domain_error
from ..profile import (
    SESSION_LANGUAGE,
    client_language_set,
    email_add_confirm,
    email_add_request,
    email_add_token_read,
    language_of,
)
from ..viewer import client_required, viewer_for


def _custom_fields():
    return fields_for_scope(CustomForm.Scope.USER, for_client=True)


def _page(request, *, form=None, email_form=None, status=200):
    user = viewer_for(request).actor
    if form is None:
        initial = {"name": user.name, "timezone": user.timezone, "language": language_of(user)}
        rows = field_rows(user, CustomForm.Scope.USER, for_client=True)
        initial |= {f"cf_{field.name}": value for field, value in rows}
        form = ProfileForm(initial=initial, custom_fields=[field for field, _value in rows])
    context = {
        "form": form,
        "email_form": email_form or EmailAddForm(),
        "emails": list(user.extra_emails.order_by("email")),
        "has_password": user.has_usable_password(),
    }
    return render(request, "portal/profile.html", context, status=status)


@client_required
def profile(request):
    if request.method != "POST":
        return _page(request)
    user = viewer_for(request).actor
    form = ProfileForm(request.POST, custom_fields=_custom_fields())
    if not form.is_valid():
        return _page(request, form=form, status=400)
    data = form.cleaned_data
    try:
        client_profile_update_with_fields(
            actor=user,
            name=data["name"],
            timezone=data["timezone"],
            custom_fields=form.custom_values(),
        )
        client_language_set(actor=user, language=data["language"])
    except DomainError as exc:
        add_domain_error(form, exc)
        return _page(request, form=form, status=400)
    request.session[SESSION_LANGUAGE] = data["language"]  # the pages from now on
    messages.success(request, _("Your profile is saved."))
    return redirect("portal:profile")


@client_required
def password_change(request):
    user = viewer_for(request).actor
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client_password_change(
                actor=user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            update_session_auth_hash(request, user)  # this session stays signed in
            messages.success(request, _("Your password is changed."))
            return redirect("portal:profile")
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/profile_password.html", {"form": form}, status=status)


@client_required
@require_POST
def email_add(request):
    user = viewer_for(request).actor
    form = EmailAddForm(request.POST)
    if not form.is_valid():
        return _page(request, email_form=form, status=400)
    try:
        email_add_request(actor=user, email=form.cleaned_data["email"])
    except DomainError as exc:
        add_domain_error(form, exc)
        return _page(request, email_form=form, status=400)
    messages.success(
        request,
        _("We sent a link to %(email)s: follow it to add the address.")
        % {"email": form.cleaned_data["email"]},
    )
    return redirect("portal:profile")


@client_required
@require_POST
def email_remove(request, pk):
    try:
        user_email_remove(actor=viewer_for(request).actor, email_id=pk)
    except NotVisible:
        raise Http404(_("Address not found.")) from None
    messages.success(request, _("The address is removed."))
    return redirect("portal:profile")


@client_required
def email_verify(request, token):
    """GET shows the address and a button (mail scanners follow links); POST adds it."""
    user = viewer_for(request).actor
    found = email_add_token_read(token=token)
    if found is None or found[0] != user.pk:
        return render(request, "portal/link_invalid.html", status=404)
    if request.method == "POST":
        try:
            email_add_confirm(actor=user, token=token)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(email)s is added.") % {"email": found[1]})
        return redirect("portal:profile")
    return render(request, "portal/profile_email_verify.html", {"email": found[1]})
