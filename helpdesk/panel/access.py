"""Who may use the panel, and the per-request setup of an agent's session.

`agent_required` guards every panel view: signed in, an active agent, past the second
factor when they have one (or when admins require it), then the agent's language and
time zone are activated for the request.
"""

from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseForbidden
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from accounts.actors import is_agent
from accounts.models import User

from .models import AgentPreferences, PanelSettings, TotpDevice

SESSION_2FA = "panel_2fa_ok"
SESSION_PENDING = "panel_2fa_pending"


def preferences_of(agent) -> AgentPreferences:
    cached = getattr(agent, "_panel_prefs", None)
    if cached is None:
        cached = AgentPreferences.objects.filter(agent=agent).first() or AgentPreferences(
            agent=agent
        )
        agent._panel_prefs = cached
    return cached


def device_of(agent) -> TotpDevice | None:
    if not hasattr(agent, "_panel_totp"):
        agent._panel_totp = TotpDevice.objects.filter(agent=agent).first()
    return agent._panel_totp


def agent_of(request: HttpRequest) -> User:
    """The agent of a panel request, as the services take it (`actor=`): agent_required
    lets nobody else into a panel view."""
    user = request.user
    if not is_agent(user):
        raise PermissionDenied
    return user


def login_url(request) -> str:
    return f"{reverse('panel:login')}?{urlencode({'next': request.get_full_path()})}"


def _login_url_of_page(request) -> str:
    """The sign-in page, coming back to the page an htmx request was made from."""
    current = urlsplit(request.htmx.current_url or "")
    page = current.path + (f"?{current.query}" if current.query else "")
    if not page.startswith("/scp/"):
        page = reverse("panel:home")
    return f"{reverse('panel:login')}?{urlencode({'next': page})}"


def second_factor_state(request) -> str:
    """'ok', 'verify' (has a device, this session has not passed it) or 'enrol'."""
    agent = request.user
    device = device_of(agent)
    if device is not None and device.is_confirmed:
        return "ok" if request.session.get(SESSION_2FA) else "verify"
    if PanelSettings.load().require_2fa:
        return "enrol"
    return "ok"


def agent_required(view=None, *, enrolment: bool = False):
    """Guard a panel view. `enrolment=True` lets an agent in who must still set up 2FA."""

    def decorate(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                if getattr(request, "htmx", False):  # the whole page goes, not a fragment
                    return HttpResponseClientRedirect(_login_url_of_page(request))
                return redirect(login_url(request))
            if not is_agent(user):
                return HttpResponseForbidden(_("This account cannot use the staff panel."))
            state = second_factor_state(request)
            if state == "verify":
                request.session[SESSION_PENDING] = user.pk
                return redirect(reverse("panel:login_verify"))
            if state == "enrol" and not enrolment:
                return redirect(reverse("panel:totp_setup"))
            prefs = preferences_of(user)
            if prefs.language:
                request.LANGUAGE_CODE = prefs.language
            # for this request only: the thread serves others after it
            with (
                translation.override(prefs.language or translation.get_language()),
                timezone.override(user.timezone or timezone.get_current_timezone()),
            ):
                response = func(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return wrapper

    return decorate(view) if view is not None else decorate
