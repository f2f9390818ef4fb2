"""The language a signed-in client chose in their profile, for every page they open
(the panel has its own, per agent: helpdesk.panel.access)."""

from django.utils import translation

from .profile import SESSION_LANGUAGE, language_of


class ClientLanguageMiddleware:
    """Activates the client's language for the request. Read once per session from
    their preferences (the profile page keeps the session's copy current), so a page
    costs no query for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_agent:
            return self.get_response(request)
        if SESSION_LANGUAGE not in request.session:
            request.session[SESSION_LANGUAGE] = language_of(user)
        language = request.session[SESSION_LANGUAGE]
        if not language:
            return self.get_response(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            return self.get_response(request)
