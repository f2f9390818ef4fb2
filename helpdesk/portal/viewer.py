"""Who is looking at the portal: a signed-in client, a guest behind a sign-in link (one
ticket, acting as the client the link was sent to), an agent, or nobody."""

from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse

from accounts.models import User

from .models import AccessLink
from .selectors import access_link_valid

GUEST_SESSION_KEY = "portal_guest_link"


@dataclass(frozen=True)
class Viewer:
    user: User | None = None  # the client acting (signed in, or behind a guest link)
    link: AccessLink | None = None  # set for guests
    is_agent: bool = False

    @property
    def is_client(self) -> bool:
        return self.user is not None and self.link is None

    @property
    def is_guest(self) -> bool:
        return self.link is not None

    @property
    def is_anonymous(self) -> bool:
        return self.user is None and not self.is_agent

    @property
    def actor(self) -> User:
        """The client acting, as the services take it (`actor=`): the views behind
        client_required and ticket_viewer_required always have one."""
        if self.user is None:
            raise PermissionDenied
        return self.user


def viewer_for(request) -> Viewer:
    cached = getattr(request, "_portal_viewer", None)
    if cached is not None:
        return cached
    viewer = _resolve(request)
    request._portal_viewer = viewer
    return viewer


def _resolve(request) -> Viewer:
    user = request.user
    if user.is_authenticated:
        if user.is_agent:
            return Viewer(is_agent=True)
        if user.is_active:
            return Viewer(user=user)
    link_id = request.session.get(GUEST_SESSION_KEY)
    if link_id:
        link = access_link_valid(pk=link_id)
        if link is not None:
            return Viewer(user=link.user, link=link)
        del request.session[GUEST_SESSION_KEY]
    return Viewer()


def guest_sign_in(request, link: AccessLink) -> None:
    request.session.cycle_key()
    request.session[GUEST_SESSION_KEY] = link.pk
    request._portal_viewer = None


def staff_notice(request):
    """Agents use the staff panel; the portal is for clients."""
    return render(request, "portal/staff_notice.html", status=403)


def login_redirect(request):
    return redirect_to_login(request.get_full_path(), reverse("portal:login"))


def client_required(view):
    """Signed-in clients only: nobody else is sent to sign in, agents are told to use
    the staff panel."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        viewer = viewer_for(request)
        if viewer.is_agent:
            return staff_notice(request)
        if not viewer.is_client:
            return login_redirect(request)
        return view(request, *args, **kwargs)

    return wrapped


def ticket_viewer_required(view):
    """Signed-in clients and guests with a sign-in link; others are sent to sign in."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        viewer = viewer_for(request)
        if viewer.is_agent:
            return staff_notice(request)
        if viewer.user is None:
            return login_redirect(request)
        return view(request, *args, **kwargs)

    return wrapped
