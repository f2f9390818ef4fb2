"""The Django admin behind the staff panel's sign-in: one door for staff.

Admins sign in at /scp/login/ (throttled, with the second factor when they have one or
the panel requires it); the admin's own password-only login page redirects there, and
admin pages need a session that passed the second factor like every panel page.
"""

from urllib.parse import urlencode

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse

from .access import second_factor_state


def _login(request, extra_context=None):
    target = request.GET.get("next") or reverse("admin:index")
    return redirect(f"{reverse('panel:login')}?{urlencode({'next': target})}")


def install(site: admin.AdminSite = admin.site) -> None:
    plain_permission = site.has_permission

    def has_permission(request):
        return plain_permission(request) and second_factor_state(request) == "ok"

    # this site object's own methods (its class stays Django's AdminSite)
    site.has_permission = has_permission  # type: ignore[method-assign]
    site.login = _login  # type: ignore[method-assign]
