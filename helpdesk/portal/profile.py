"""A client's profile in the portal: their language, and further email addresses
added once they follow a signed link mailed to the new address. The account's own
fields change through accounts.services_profile."""

import datetime as dt

from django.conf import settings
from django.core import signing
from django.db import transaction

from accounts.actors import Actor
from accounts.errors import ValidationFailed
from accounts.models import User, UserEmail
from accounts.selectors import user_find_by_email
from accounts.services import _clean_email
from accounts.services_profile import require_client, user_email_add

from . import mail
from .models import ClientPreferences, PortalSettings

EMAIL_SALT = "helpdesk.portal.add-email"
SESSION_LANGUAGE = "portal_language"
LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def language_of(user: User) -> str:
    prefs = ClientPreferences.objects.filter(user=user).first()
    return prefs.language if prefs is not None else ""


def client_language_set(*, actor: Actor, language: str) -> ClientPreferences:
    """The portal's language for the client ("" for the site's)."""
    user = require_client(actor)
    if language and language not in LANGUAGE_CODES:
        raise ValidationFailed(
            "Choose a language from the list.",
            code="invalid_language",
            fields={"language": ["Choose a language from the list."]},
        )
    prefs, _created = ClientPreferences.objects.update_or_create(
        user=user, defaults={"language": language}
    )
    return prefs


def _lifetime() -> dt.timedelta:
    return dt.timedelta(hours=PortalSettings.load().verification_hours)


def email_add_request(*, actor: Actor, email: str) -> bool:
    """Mail a link to `email` that adds it to the client's addresses when followed.
    The answer does not tell whether another account has the address: then nothing is
    mailed (and the link would be refused anyway). True when a mail was queued."""
    user = require_client(actor)
    email = _clean_email(email)
    if user_find_by_email(email) is not None:
        return False
    token = signing.dumps([user.pk, email], salt=EMAIL_SALT)
    with transaction.atomic():
        mail.send(
            to=email,
            name="verify_address",
            context={
                "name": user.display_name,
                "email": email,
                "url": mail.absolute("portal:profile_email_verify", token),
                "hours": PortalSettings.load().verification_hours,
            },
        )
    return True


def email_add_token_read(*, token: str) -> tuple[int, str] | None:
    """(user id, address) of a genuine link not older than the verification time."""
    try:
        value = signing.loads(token, salt=EMAIL_SALT, max_age=_lifetime())
    except signing.BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2):
        return None
    user_id, email = value
    if type(user_id) is not int or not isinstance(email, str):
        return None
    return user_id, email


def email_add_confirm(*, actor: Actor, token: str) -> UserEmail:
    """The client followed the link, signed in as the account it was made for: the
    address is theirs."""
    user = require_client(actor)
    found = email_add_token_read(token=token)
    if found is None or found[0] != user.pk:
        raise ValidationFailed(
            "This link is not valid any more. Add the address again.", code="link_invalid"
        )
    return user_email_add(actor=user, email=found[1])
