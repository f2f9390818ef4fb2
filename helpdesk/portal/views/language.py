"""The language chooser in the portal's header. Anyone may choose: the choice goes into
the language cookie (read by LocaleMiddleware before the browser's Accept-Language);
a signed-in client's choice is also their profile's language, which comes first."""

from typing import Literal, cast

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..profile import LANGUAGE_CODES, SESSION_LANGUAGE, client_language_set
from ..viewer import viewer_for


@require_POST
def choose_language(request):
    language = request.POST.get("language", "")
    if language not in LANGUAGE_CODES:
        return HttpResponseBadRequest(_("Choose a language from the list."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "/"
    viewer = viewer_for(request)
    if viewer.is_client:
        client_language_set(actor=viewer.actor, language=language)
        request.session[SESSION_LANGUAGE] = language
    response = redirect(back)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE or request.is_secure(),
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=cast(Literal["Lax", "Strict", "None"], settings.LANGUAGE_COOKIE_SAMESITE),
    )
    return response
