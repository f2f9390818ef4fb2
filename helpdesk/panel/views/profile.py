"""The agent's profile: identity, preferences, password, two-factor authentication."""

import pyotp
import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import PasswordChangeForm

from .. import selectors, services
from ..access import SESSION_2FA, agent_of, agent_required, device_of, preferences_of
from ..forms import CodeForm, ProfileForm
from ..http import attempt
from ..models import PanelSettings
from .common import go, page


@agent_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user, prefs = request.user, preferences_of(request.user)
    initial = {
        "name": user.name,
        "signature": user.signature,
        "timezone": user.timezone,
        **{k: getattr(prefs, k) for k in services.PREFERENCE_FIELDS},
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        outcome = attempt(
            request, lambda: services.profile_update(actor=user, **form.cleaned_data), form=form
        )
        if outcome.ok:
            messages.success(request, _("Profile saved."))
            return go(request, request.path)
    device = device_of(user)
    ctx = {
        "form": form,
        "device": device,
        "require_2fa": PanelSettings.load().require_2fa,
        "recovery_left": (
            selectors.recovery_codes_left(user) if device and device.is_confirmed else None
        ),
    }
    return page(
        request,
        "staff/profile.html",
        ctx,
        status=200 if form.is_bound is False or form.is_valid() else 422,
    )


# The recovery codes just made, kept in the session only until the page that shows them
# (once) is rendered: the database has only their hashes.
SESSION_RECOVERY = "panel_recovery_codes"


def qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code (segno; drawn on the server, no
    script). The SVG holds only the code's modules as a path, no text from the URI."""
    return segno.make(uri, error="m").svg_inline(scale=4, border=2, omitsize=False)


@agent_required(enrolment=True)
@require_http_methods(["GET", "POST"])
def totp_setup(request):
    """Set up an authenticator: show the secret, confirm with a first code."""
    user = request.user
    device = device_of(user)
    if device is not None and device.is_confirmed:
        return redirect("panel:profile")
    if device is None or request.GET.get("new") == "1":
        device = services.totp_begin(actor=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.totp_verify(agent=user, code=form.cleaned_data["code"], confirm=True):
            request.session.cycle_key()
            request.session[SESSION_2FA] = True
            request.session[SESSION_RECOVERY] = services.recovery_codes_generate(actor=user)
            messages.success(request, _("Two-factor authentication is on."))
            return go(request, str(reverse_lazy("panel:recovery_codes")))
        form.add_error("code", _("That code is not right. Check the clock of your device."))
    uri = pyotp.TOTP(device.secret).provisioning_uri(name=user.email, issuer_name="Helpdesk")
    ctx = {
        "form": form,
        "secret": device.secret,
        "uri": uri,
        "qr_svg": qr_svg(uri),
        "required": PanelSettings.load().require_2fa,
    }
    return page(request, "staff/totp_setup.html", ctx, status=422 if form.errors else 200)


@agent_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request):
    """GET: the codes just made, shown this once (then only how many are left); POST:
    make ten new ones, replacing the old (for an agent with an authenticator)."""
    user = agent_of(request)
    if request.method == "POST":
        outcome = attempt(request, lambda: services.recovery_codes_generate(actor=user))
        if outcome.ok:
            request.session[SESSION_RECOVERY] = outcome.value
        return go(request, str(reverse_lazy("panel:recovery_codes")))
    device = device_of(user)
    if device is None or not device.is_confirmed:
        return redirect("panel:profile")
    codes = request.session.pop(SESSION_RECOVERY, None)
    ctx = {"codes": codes, "left": selectors.recovery_codes_left(user)}
    return page(request, "staff/recovery_codes.html", ctx)


@agent_required
@require_POST
def totp_disable(request):
    if PanelSettings.load().require_2fa:
        messages.error(request, _("Two-factor authentication is required for every agent."))
        return go(request, str(reverse_lazy("panel:profile")))
    services.totp_disable(actor=agent_of(request))
    request.session.pop(SESSION_2FA, None)
    messages.success(request, _("Two-factor authentication is off."))
    return go(request, str(reverse_lazy("panel:profile")))


@method_decorator(agent_required, name="dispatch")
class PasswordChange(auth_views.PasswordChangeView):
    template_name = "staff/password_change.html"
    form_class = PasswordChangeForm  # audited
    success_url = reverse_lazy("panel:profile")

    def form_valid(self, form):
        messages.success(self.request, _("Password changed."))
        return super().form_valid(form)


password_change = PasswordChange.as_view()
