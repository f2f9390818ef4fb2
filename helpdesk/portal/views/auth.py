"""Signing in and out, registration (open with email verification, or by invitation),
and password reset (Django's views with the portal's templates and mail)."""

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from accounts.errors import Conflict, DomainError, ValidationFailed
from accounts.forms import SetPasswordForm
from accounts.services_passwords import password_reset_request, reset_tokens
from accounts.throttle import client_ip

from .. import ratelimit
from ..forms import (
    AccessRequestForm,
    InvitationAcceptForm,
    PortalLoginForm,
    PortalPasswordResetForm,
    RegistrationForm,
    add_domain_error,
)
from ..models import PortalSettings
from ..selectors import invitation_usable
from ..services import (
    invitation_accept,
    registration_confirm,
    registration_request,
    verification_usable,
)
from ..viewer import GUEST_SESSION_KEY, staff_notice, viewer_for
from .access import number_from_next

BACKEND = "accounts.backends.HelpdeskBackend"
RATE_SCOPE = "account"


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = PortalLoginForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("portal:tickets")  # type: ignore[assignment]  # Django resolves it

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["access_form"] = AccessRequestForm(
            initial={"number": number_from_next(self.request)}
        )
        context["registration"] = PortalSettings.load().registration
        return context

    def form_valid(self, form):
        self.request.session.pop(GUEST_SESSION_KEY, None)
        return super().form_valid(form)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.retry_after:  # refused by the throttle: 429 with the wait
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response


def logout_view(request):
    """GET asks, POST signs out (clients and guests alike)."""
    if request.method == "POST":
        logout(request)
        messages.success(request, _("You are signed out."))
        return redirect("portal:home")
    return render(request, "portal/logout.html", {"viewer": viewer_for(request)})


def _signed_in(request, user):
    request.session.pop(GUEST_SESSION_KEY, None)
    login(request, user, backend=BACKEND)


def register(request):
    viewer = viewer_for(request)
    if viewer.is_agent:
        return staff_notice(request)
    if viewer.is_client:
        return redirect("portal:tickets")
    config = PortalSettings.load()
    if config.registration != PortalSettings.Registration.OPEN:
        return render(request, "portal/register_closed.html", {"config": config})
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        limit = config.account_mails_per_ip_per_hour
        if not ratelimit.hit(RATE_SCOPE, client_ip(request), limit):
            form.add_error(None, _("Too many requests from your network. Try again in an hour."))
            return _too_many(render(request, "portal/register.html", {"form": form}))
        try:
            registration_request(
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                password=form.cleaned_data["password1"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect("portal:register_sent")
    return render(request, "portal/register.html", {"form": form})


def _too_many(response):
    response.status_code = 429
    response["Retry-After"] = str(ratelimit.seconds_left())
    return response


def register_sent(request):
    return render(request, "portal/register_sent.html")


def _link_refused(request: HttpRequest, exc: DomainError) -> HttpResponse | None:
    """The answer to a verification or invitation link the service refused: used
    already (a conflict), sign in; no longer valid, the 404 page; else None."""
    if isinstance(exc, Conflict):
        messages.info(request, exc.message)
        return redirect("portal:login")
    if isinstance(exc, ValidationFailed):
        return render(request, "portal/link_invalid.html", status=404)
    return None


def register_verify(request, token):
    """GET shows a button (mail scanners follow links); POST makes the account."""
    if verification_usable(token=token) is None:
        return render(request, "portal/link_invalid.html", status=404)
    if request.method == "POST":
        try:
            user = registration_confirm(token=token)
        except DomainError as exc:
            if (refused := _link_refused(request, exc)) is not None:
                return refused
            messages.error(request, exc.message)
            return redirect("portal:home")
        _signed_in(request, user)
        messages.success(request, _("Your address is confirmed and your account is ready."))
        return redirect("portal:tickets")
    return render(request, "portal/register_verify.html")


def register_invite(request, token):
    invitation = invitation_usable(token=token)
    config = PortalSettings.load()
    if invitation is None or config.registration == PortalSettings.Registration.NONE:
        return render(request, "portal/link_invalid.html", status=404)
    form = InvitationAcceptForm(request.POST or None, initial={"name": invitation.name})
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                token=token,
                name=form.cleaned_data["name"],
                password=form.cleaned_data["password1"],
            )
        except DomainError as exc:
            if (refused := _link_refused(request, exc)) is not None:
                return refused
            add_domain_error(form, exc)
        else:
            _signed_in(request, user)
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("portal:tickets")
    return render(request, "portal/register_invite.html", {"form": form, "invitation": invitation})


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "portal/password_reset.html"
    form_class = PortalPasswordResetForm
    success_url = reverse_lazy("portal:password_reset_done")

    def form_valid(self, form):
        """The same answer and the same work whether the address has an account or not
        (accounts.services_passwords): limited per account there, per client address here."""
        limit = PortalSettings.load().account_mails_per_ip_per_hour
        if not ratelimit.hit(RATE_SCOPE, client_ip(self.request), limit):
            form.add_error(None, _("Too many requests from your network. Try again in an hour."))
            return _too_many(self.form_invalid(form))
        password_reset_request(email=form.cleaned_data["email"], audience="client")
        return redirect(self.get_success_url())


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "portal/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm  # audited
    token_generator = reset_tokens
    template_name = "portal/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "portal/password_reset_complete.html"
