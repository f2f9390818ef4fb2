"""Who may use the panel, and the per-request setup of an agent's session.

`agent_required` guards every panel view: signed in, an active agent, past the second
factor when they have one (or when admins require it), then the agent's language and
time zone are activated for the request. It is also the one place where the panel
refuses a page: a view (or a service it calls) raising `PermissionRefused` or Django's
`PermissionDenied` gets `refusal_page`, a 403 in the panel's layout that names the
missing permission and whom to ask for it (never a bare 403).
"""

from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from accounts import permissions as perms
from accounts.actors import is_agent
from accounts.errors import PermissionRefused
from accounts.models import User
from routing.models import Department

from .models import AgentPreferences, PanelSettings, TotpDevice

SESSION_2FA = "panel_2fa_ok"
SESSION_PENDING = "panel_2fa_pending"


_NOT_LOADED = object()


def _loaded(agent, name: str):
    """A reverse one-to-one the request's user came with (accounts.backends.PER_REQUEST:
    the row, or None when there is none), else _NOT_LOADED."""
    return agent._state.fields_cache.get(name, _NOT_LOADED)


def preferences_of(agent) -> AgentPreferences:
    cached = getattr(agent, "_panel_prefs", None)
    if cached is None:
        cached = _loaded(agent, "panel_preferences")
        if cached is _NOT_LOADED:
            cached = AgentPreferences.objects.filter(agent=agent).first()
        agent._panel_prefs = cached or AgentPreferences(agent=agent)
    return agent._panel_prefs


def device_of(agent) -> TotpDevice | None:
    if not hasattr(agent, "_panel_totp"):
        device = _loaded(agent, "panel_totp")
        if device is _NOT_LOADED:
            device = TotpDevice.objects.filter(agent=agent).first()
        agent._panel_totp = device
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
                return refusal_page(
                    request,
                    PermissionRefused(
                        _("This account cannot use the staff panel."), code="not_an_agent"
                    ),
                )
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
                try:
                    response = func(request, *args, **kwargs)
                except (PermissionRefused, PermissionDenied) as exc:
                    return refusal_page(request, exc)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return wrapper

    return decorate(view) if view is not None else decorate


def whom_to_ask(agent: User, perm: str, department_id: int | None) -> dict:
    """Who can grant `perm`: a department permission (on a role) is the business of the
    department's manager (the one named in the refusal, else the agent's primary
    department's), an agent-wide one of a helpdesk admin. {"manager": agent or None,
    "admins": up to three active helpdesk admins}."""
    manager = None
    known = perms.BY_KEY.get(perm)
    if known is not None and not known.agent_wide:
        dept_id = department_id or agent.department_id
        dept = (
            Department.objects.select_related("manager").filter(pk=dept_id).first()
            if dept_id is not None
            else None
        )
        if dept is not None and dept.manager is not None and dept.manager.pk != agent.pk:
            manager = dept.manager
    admins = list(
        User.objects.filter(is_agent=True, is_active=True, is_helpdesk_admin=True)
        .exclude(pk=agent.pk)
        .order_by("name", "email")[:3]
    )
    return {"manager": manager, "admins": admins}


def refusal_page(request, exc: Exception, *, status: int = 403) -> HttpResponse:
    """The panel's refusal: what was refused, the missing permission (its key and what it
    allows) and whom to ask, in the panel's layout (with its sidebar for an agent)."""
    from .views.common import frame  # the page frame needs the views' helpers

    extra = getattr(exc, "extra", None) or {}
    perm = str(extra.get("permission") or "")
    known = perms.BY_KEY.get(perm)
    user = request.user
    agent = is_agent(user)
    ctx = {
        "reason": getattr(exc, "message", "") or str(exc) or _("You may not open this page."),
        "permission": perm,
        "permission_label": known.label if known else "",
        "agent_wide": bool(known and known.agent_wide),
        "is_agent": agent,
    }
    if agent and perm:
        dept = extra.get("department_id")
        ctx.update(whom_to_ask(user, perm, dept if isinstance(dept, int) else None))
    if agent:
        ctx = frame(request, ctx)
    return render(request, "staff/refused.html", ctx, status=status)


def perm_required(perm: str):
    """Guard a panel view with `agent_required` and the agent-wide permission `perm`:
    without it, the refusal page (naming it)."""

    def decorate(func):
        @agent_required
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            perms.require_agent_perm(request.user, perm)
            return func(request, *args, **kwargs)

        return wrapper

    return decorate


def admin_required(func):
    """Guard a panel view with `agent_required` and the helpdesk admin flag: other
    agents get the refusal page."""

    @agent_required
    @wraps(func)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_helpdesk_admin:
            raise PermissionRefused(
                _("Only helpdesk admins may open this page."), code="permission_denied"
            )
        return func(request, *args, **kwargs)

    return wrapper
