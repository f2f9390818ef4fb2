"""Password reset links, for agents (the panel) and clients (the portal).

- **One valid link at a time.** Django's tokens stop working once the password or the
  last sign-in changes; ours also hash the account's `reset_nonce`, which every new link
  replaces (`password_reset_issue`), so asking again voids the links mailed before.
- **The same answer, in the same time, whether the address has an account or not.** The
  request only counts itself and queues a task after commit
  (`password_reset_request`): no lookup, no hashing, nothing that differs with the
  address. The worker looks the address up and mails a link to a matching account
  (`password_reset_send`), or does nothing.
- **Limited per account and per address.** At most `RESET_PER_ACCOUNT_PER_HOUR` mails are
  queued for one address per hour (beyond, the answer is the same and nothing is sent,
  so nobody can flood someone's inbox from many places); the callers limit requests per
  client address (HTTP 429). The count is keyed on the address's canonical form
  (`reset_key`: NFKC, case folded), and the worker mails only accounts whose address
  has that same form. A database comparing "in any case" folds more than Python's
  lower(): PostgreSQL's UPPER() turns the dotless i (U+0131), the long s (U+017F) and
  the Kelvin sign (U+212A), all accepted by Django's EmailValidator, into I, S and K;
  keyed on the typed text, each such spelling had a limit of its own and still reached
  the one inbox.
"""

import contextlib
import logging
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from . import bus, throttle
from .links import site_url
from .models import User

log = logging.getLogger("helpdesk.security")

RESET_PER_ACCOUNT_PER_HOUR = 3


class ResetTokenGenerator(PasswordResetTokenGenerator):
    """Django's reset token, also bound to the account's current reset nonce."""

    key_salt = "helpdesk.accounts.services_passwords.ResetTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return super()._make_hash_value(user, timestamp) + (user.reset_nonce or "")


reset_tokens = ResetTokenGenerator()


@dataclass(frozen=True)
class Audience:
    is_agent: bool
    confirm_url: str  # URL name taking uidb64 and token
    templates: str  # <templates>_subject.txt, <templates>.txt, optional <templates>.html


AUDIENCES = {
    "client": Audience(False, "portal:password_reset_confirm", "portal/email/password_reset"),
    "agent": Audience(True, "panel:password_reset_confirm", "staff/email/password_reset"),
}


def reset_key(email: str) -> str:
    """The canonical form of an address: what the reset limit counts and what an
    account's address must equal to get the link (compatibility-normalised, NFKC, so
    the long s U+017F is `s` and the Kelvin sign U+212A `K`, then case folded)."""
    return unicodedata.normalize("NFKC", (email or "").strip()).casefold()


def password_reset_request(*, email: str, audience: str) -> bool:
    """Someone asks for a reset link for `email` (already checked to be an address).
    Queues the mail task after commit, unless the account's limit is reached (False:
    nothing queued; the caller answers the same either way)."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    email = reset_key(email)
    if not throttle.hit(
        scope="reset:account", key=email, limit=RESET_PER_ACCOUNT_PER_HOUR, window=3600
    ).allowed:
        log.warning(
            "password reset for %s not sent: over %d an hour", email, RESET_PER_ACCOUNT_PER_HOUR
        )
        return False
    from .tasks import password_reset_mail_task

    bus.enqueue(password_reset_mail_task, email, audience)  # never run in the request
    return True


def password_reset_issue(*, user: User) -> str:
    """A new reset token for `user`; every token issued before stops working."""
    user.reset_nonce = secrets.token_hex(16)
    User.objects.filter(pk=user.pk).update(reset_nonce=user.reset_nonce)
    return reset_tokens.make_token(user)


def password_reset_candidates(*, email: str, audience: str) -> list[User]:
    """Active accounts of the audience with this primary address and a password. The
    address must have the request's canonical form (`reset_key`), the one its limit
    counted: the database's own case-insensitive match may fold more."""
    key = reset_key(email)
    found = User.objects.filter(
        email__iexact=key, is_active=True, is_agent=AUDIENCES[audience].is_agent
    )
    return [u for u in found if reset_key(u.email) == key and u.has_usable_password()]


def password_reset_send(*, email: str, audience: str) -> int:
    """(In the worker.) Mail a fresh link to each matching account; how many were sent."""
    target = AUDIENCES[audience]
    users = password_reset_candidates(email=email, audience=audience)
    for user in users:
        token = password_reset_issue(user=user)
        path = reverse(
            target.confirm_url,
            kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": token},
        )
        context = {"user": user, "email": user.email, "url": site_url(path), "base_url": site_url()}
        _send(user.email, target.templates, context)
    return len(users)


def _send(to: str, templates: str, context: dict[str, Any]) -> None:
    subject = " ".join(render_to_string(f"{templates}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{templates}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    with contextlib.suppress(TemplateDoesNotExist):
        message.attach_alternative(render_to_string(f"{templates}.html", context), "text/html")
    message.send()
