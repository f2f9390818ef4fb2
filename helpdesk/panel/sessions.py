"""Staff sessions end: after STAFF_SESSION_IDLE_SECONDS without a request (8 hours by
default) and STAFF_SESSION_MAX_SECONDS after sign-in whatever happens (24 hours).

An agent or admin session carries two times, set when they sign in (by any door: the
panel, the second factor, the admin or a test's force_login, through Django's
`user_logged_in` signal): the sign-in and the last request (rewritten at most once a
minute, not on every request). The middleware runs on every request, so the panel,
the admin and the API's session authentication all see the session end: it is flushed
and the request goes on as anonymous (the panel and admin send to the sign-in page, the
API answers 401). Clients' sessions keep Django's SESSION_COOKIE_AGE.

Requests a page makes on its own (the sidebar's counts, polled every minute: PASSIVE)
are not activity: they do not move the last request, so an open tab left alone still
ends its session.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils.translation import gettext as _

STARTED = "staff_started_at"
SEEN = "staff_seen_at"
TOUCH_EVERY = 60  # seconds: how stale the "last request" time may be
PASSIVE = frozenset({"/scp/queues/counts/"})  # polled by the page, not asked by the agent


def is_staff(user) -> bool:
    return bool(user.is_authenticated and (getattr(user, "is_agent", False) or user.is_staff))


def _begin(session, now: float) -> None:
    session[STARTED] = now
    session[SEEN] = now


@receiver(user_logged_in, dispatch_uid="helpdesk.panel.sessions.begin")
def _signed_in(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None:
        if is_staff(user):
            _begin(session, time.time())
        else:
            session.pop(STARTED, None)
            session.pop(SEEN, None)


def expired(session, now: float) -> str | None:
    """Why this staff session is over ("idle" or "lifetime"), or None."""
    started = session[STARTED]
    if now - session.get(SEEN, started) > settings.STAFF_SESSION_IDLE_SECONDS:
        return "idle"
    if now - started > settings.STAFF_SESSION_MAX_SECONDS:
        return "lifetime"
    return None


class StaffSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session:
            self._enforce(request, session, time.time())
        return self.get_response(request)

    def _enforce(self, request, session, now: float) -> None:
        if STARTED not in session:
            if is_staff(request.user):  # a session from before these rules
                _begin(session, now)
            return
        why = expired(session, now)
        if why is not None:
            logout(request)
            text = (
                _("You were signed out after a long time without activity. Sign in again.")
                if why == "idle"
                else _("Your session reached its time limit. Sign in again.")
            )
            messages.info(request, text)
        elif now - session.get(SEEN, 0) >= TOUCH_EVERY and request.path not in PASSIVE:
            session[SEEN] = now
