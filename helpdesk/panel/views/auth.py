"""Sign-in (username or email, throttled per account and per address), the second
factor, logout, and password reset by email (Django's views, limited to agents)."""

import math

from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import throttle
from accounts.actors import is_agent
from accounts.forms import SetPasswordForm
from accounts.services_passwords import password_reset_request, reset_tokens

from .. import services
from ..access import SESSION_2FA, SESSION_PENDING, device_of
from ..forms import LoginForm, SignInCodeForm
from ..selectors import recovery_codes_left

SCOPE_2FA = "panel-2fa"


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) and target.startswith(("/scp/", "/admin/")):
        return target
    return reverse("panel:home")


def _refused(request, form, text, status, retry_after=0):
    form.add_error(None, text)
    response = render(
        request, "staff/login.html", {"form": form, "next": _next(request)}, status=status
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _wait_text(retry_after: int) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    return ngettext(
        "Too many failed sign-ins. Wait %(n)d minute and try again.",
        "Too many failed sign-ins. Wait %(n)d minutes and try again.",
        minutes,
    ) % {"n": minutes}


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    if request.user.is_authenticated and is_agent(request.user):
        return redirect(_next(request))
    form = LoginForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "staff/login.html", {"form": form, "next": _next(request)})
    name = form.cleaned_data["login"]
    attempt = throttle.attempt_start(login=name, ip=throttle.client_ip(request))
    if not attempt.allowed:
        text = _wait_text(attempt.retry_after)
        return _refused(request, form, text, 429, attempt.retry_after)
    user = authenticate(request, username=name, password=form.cleaned_data["password"])
    if user is None or not is_agent(user):  # a client's right password is refused alike
        if user is not None:  # (a wrong password was logged by Django's signal already)
            _signin_failed(request, name, "not an agent")
        throttle.attempt_failed(attempt, channel="staff panel sign-in")
        return _refused(request, form, _("Wrong username, email or password."), 200)
    throttle.attempt_succeeded(attempt)
    device = device_of(user)
    if device is not None and device.is_confirmed:
        request.session.cycle_key()
        request.session[SESSION_PENDING] = user.pk
        request.session["panel_next"] = _next(request)
        return redirect("panel:login_verify")
    login(request, user)  # rotates the session key
    return redirect(_next(request))


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_verify(request):
    """The second step: a code from the agent's authenticator, or one of their recovery
    codes (each accepted once)."""
    pending = request.session.get(SESSION_PENDING)
    user = get_user_model().objects.filter(pk=pending, is_agent=True, is_active=True).first()
    if user is None:
        return redirect("panel:login")
    form = SignInCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        attempt = throttle.attempt_start(
            scope=SCOPE_2FA, login=f"2fa:{user.pk}", ip=throttle.client_ip(request)
        )
        if not attempt.allowed:
            form.add_error(None, _("Too many wrong codes. Wait 15 minutes and try again."))
            response = render(request, "staff/login_verify.html", {"form": form}, status=429)
            response["Retry-After"] = str(attempt.retry_after)
            return response
        code = form.cleaned_data["code"]
        by_app = services.totp_verify(agent=user, code=code)
        recovered = not by_app and services.recovery_code_use(agent=user, code=code)
        if by_app or recovered:
            throttle.attempt_succeeded(attempt)
            target = request.session.get("panel_next") or reverse("panel:home")
            login(request, user, backend="accounts.backends.HelpdeskBackend")
            request.session.cycle_key()
            request.session[SESSION_2FA] = True
            if recovered:
                _recovery_used(request, user)
            return redirect(target)
        throttle.attempt_failed(attempt, channel="second factor of " + user.email)
        _signin_failed(request, user.email, "wrong second factor")
        form.add_error("code", _("That code is not right, or was used already."))
    return render(request, "staff/login_verify.html", {"form": form})


def _signin_failed(request, login_name: str, reason: str) -> None:
    """A refusal after the password was right: Django's user_login_failed, as a wrong
    password sends it (the audit log's one record of failed sign-ins)."""
    user_login_failed.send(
        sender=__name__, credentials={"username": login_name, "reason": reason}, request=request
    )


def _recovery_used(request, user) -> None:
    left = recovery_codes_left(user)
    messages.warning(
        request,
        ngettext(
            "You signed in with a recovery code: %(n)d is left. Make new ones in your profile.",
            "You signed in with a recovery code: %(n)d are left. Make new ones in your profile.",
            left,
        )
        % {"n": left},
    )


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("panel:login")


RESET_PER_ADDRESS_PER_HOUR = 10


class PasswordResetView(auth_views.PasswordResetView):
    """Agents ask for a link by address: the same answer and the same work whether the
    address belongs to an agent or not (accounts.services_passwords); limited per account and,
    here, per client address (429 with Retry-After)."""

    template_name = "staff/password_reset_form.html"
    success_url = reverse_lazy("panel:password_reset_done")

    def form_valid(self, form):
        ip = throttle.client_ip(self.request)
        verdict = throttle.hit(
            scope="reset:address", key=f"panel:{ip}", limit=RESET_PER_ADDRESS_PER_HOUR
        )
        if not verdict.allowed:
            form.add_error(None, _("Too many requests from your network. Try again later."))
            response = self.form_invalid(form)
            response.status_code = 429
            response["Retry-After"] = str(verdict.retry_after)
            return response
        password_reset_request(email=form.cleaned_data["email"], audience="agent")
        return redirect(self.get_success_url())


password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="staff/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    form_class=SetPasswordForm,  # audited
    token_generator=reset_tokens,
    template_name="staff/password_reset_confirm.html",
    success_url=reverse_lazy("panel:password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="staff/password_reset_complete.html"
)
