"""State changes of the portal: guests' sign-in links, registration, invitations and
one-time form tokens. Tickets themselves change only through tickets.services.

None of these tells a caller whether an address or a ticket exists: requests for links
return nothing to show, and mail goes only to the address that owns the account.
"""

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from accounts import audit, bus, throttle
from accounts import permissions as perms
from accounts.actors import SYSTEM, actor_user, is_agent, is_api_key, is_system
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from accounts.selectors import user_find_by_email
from accounts.services import user_activate_account, user_create
from tickets.models import State, Ticket

from . import mail
from .models import AccessLink, EmailVerification, FormSubmission, Invitation, PortalSettings
from .selectors import invitation_usable, is_participant
from .tokens import digest, new_token

M = TypeVar("M", bound=Model)
LINK_EXPIRED = "This link is not valid any more. Ask for a new one."
log = logging.getLogger("helpdesk.security")


def _mail_link(
    model: type[M],
    *,
    email: str,
    template: str,
    url: str,
    lifetime: dt.timedelta,
    context: dict[str, object],
    **fields: object,
) -> M:
    """A single-use link by mail: a row of `model` (its `email` and `fields`, the token's
    digest and its expiry) and the mail to `email` with the link to `url`, in one
    transaction; the token itself is only in the mail. Returns the row."""
    raw, hashed = new_token()
    now = timezone.now()
    with transaction.atomic():
        row = model._default_manager.create(
            token_hash=hashed, email=email, created_at=now, expires_at=now + lifetime, **fields
        )
        link = mail.absolute(url, raw)
        mail.send(to=email, name=template, context={**context, "url": link})
    return row


def _clean_name(name: str | None) -> str:
    return " ".join((name or "").split())[:128]


# --- guests' sign-in links ---------------------------------------------------------------


def access_link_request(*, email: str, number: str, ip: str | None = None) -> AccessLink | None:
    """A guest asks to see ticket `number` as `email`. When that address belongs to the
    ticket's requester or an active collaborator, a link for that one ticket is mailed to
    it. The caller shows the same answer either way; the return value is for tests."""
    email = (email or "").strip().lower()
    number = (number or "").strip().lstrip("#")
    if not email or not number:
        return None
    user = user_find_by_email(email)
    ticket = Ticket.objects.filter(number=number).exclude(state=State.DELETED).first()
    if user is None or ticket is None or not user.is_active:
        return None
    if not is_participant(ticket=ticket, user=user):
        return None
    hours = PortalSettings.load().access_link_hours
    return _mail_link(
        AccessLink,
        template="access_link",
        url="portal:access_open",
        lifetime=dt.timedelta(hours=hours),
        context={"name": user.display_name, "ticket": ticket, "hours": hours},
        ticket=ticket,
        user=user,
        email=email,
        requested_ip=ip or None,
    )


def access_link_grant(*, ticket: Ticket, user, email: str = "") -> AccessLink:
    """A guest session's link to `ticket` for `user`, made when they open the ticket
    link of a mail (already checked by selectors.mail_link_valid): the same row a
    requested link makes, so it lasts and is revoked the same way; nothing is mailed."""
    _raw, hashed = new_token()  # never sent: the session holds the row's id
    now = timezone.now()
    hours = PortalSettings.load().access_link_hours
    return AccessLink.objects.create(
        token_hash=hashed,
        ticket=ticket,
        user=user,
        email=email or user.email,
        created_at=now,
        expires_at=now + dt.timedelta(hours=hours),
        last_used_at=now,
    )


def access_link_use(*, link: AccessLink) -> None:
    AccessLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now())


def access_links_revoke(
    *,
    actor,
    ids: Iterable[int] | None = None,
    ticket_id: int | None = None,
    user_id: int | None = None,
) -> int:
    """Revoke guests' sign-in links at once, for every channel: those a helpdesk admin
    chose (`ids`, the Django admin's action), or a client's links to a ticket they were
    taken off (`ticket_id` and `user_id`, by the system). Links revoked already keep
    their time; returns how many were revoked now."""
    if not (is_system(actor) and not is_api_key(actor)) and not (
        is_agent(actor) and actor.is_helpdesk_admin
    ):
        raise PermissionRefused("Only helpdesk admins revoke links.", code="permission_denied")
    links = AccessLink.objects.filter(revoked_at__isnull=True)
    if ids is not None:
        links = links.filter(pk__in=list(ids))
    elif ticket_id is not None and user_id is not None:
        links = links.filter(ticket_id=ticket_id, user_id=user_id)
    else:
        raise ValueError("Name the links: ids, or a ticket_id and a user_id.")
    return links.update(revoked_at=timezone.now())


# --- registration (open mode) --------------------------------------------------------------


def _require_mode(*modes: str) -> PortalSettings:
    config = PortalSettings.load()
    if config.registration not in modes:
        raise PermissionRefused("Registration is not open.", code="registration_closed")
    return config


REGISTRATIONS_PER_ACCOUNT_PER_HOUR = 3


def registration_request(*, email: str, name: str, password: str) -> bool:
    """Someone fills in the registration form. The request does the same work whatever
    the address (the password is hashed, the request counted for the address, a task
    queued after commit), so neither the answer nor its time tells whether the address
    has an account; `registration_start` decides in the worker. False when the
    address's hourly limit is reached: nothing is queued, the caller answers the same."""
    _require_mode(PortalSettings.Registration.OPEN)
    email = (email or "").strip().lower()
    password_hash = make_password(password)
    if not throttle.hit(
        scope="register:account", key=email, limit=REGISTRATIONS_PER_ACCOUNT_PER_HOUR
    ).allowed:
        log.warning("registration mail for %s not sent: over the hourly limit", email)
        return False
    from .tasks import registration_start_task

    bus.enqueue(registration_start_task, email, name, password_hash, sealed=True)
    return True


def registration_start(*, email: str, name: str, password_hash: str) -> EmailVerification | None:
    """(In the worker.) Someone registered. Nothing is made until they confirm from
    their inbox:
    - a new address (or a guest's, who has no password yet) gets a verification link;
    - an address with an account already gets a note saying so, with a sign-in link;
    - an inactive account gets nothing, and nothing happens once registration closed.
    The return value is for tests."""
    config = PortalSettings.load()
    if config.registration != PortalSettings.Registration.OPEN:
        return None
    email = (email or "").strip().lower()
    existing = user_find_by_email(email)
    if existing is not None and not existing.is_active:
        return None
    if existing is not None and (existing.is_agent or existing.has_usable_password()):
        mail.send(
            to=email,
            name="account_exists",
            context={
                "name": existing.display_name,
                "login_url": mail.absolute("portal:login"),
                "reset_url": mail.absolute("portal:password_reset"),
            },
        )
        return None
    name, hours = _clean_name(name), config.verification_hours
    return _mail_link(
        EmailVerification,
        template="verify_email",
        url="portal:register_verify",
        lifetime=dt.timedelta(hours=hours),
        context={"name": name or email, "hours": hours},
        email=email,
        name=name,
        password=password_hash,
    )


def verification_usable(*, token: str) -> EmailVerification | None:
    found = EmailVerification.objects.filter(
        token_hash=digest(token), used_at__isnull=True, expires_at__gt=timezone.now()
    ).first()
    return found


def _give_account(*, email: str, name: str, password_hash: str):
    """The account for a verified or invited address: a new client, or the existing
    guest record (tickets they opened as a guest stay theirs) given its password."""
    user = user_find_by_email(email)
    if user is None:
        try:
            user = user_create(actor=SYSTEM, email=email, name=name)
        except Conflict:  # made by a concurrent confirmation or a mail just now
            user = user_find_by_email(email)
    if user is None or not user.is_active:
        raise ValidationFailed(LINK_EXPIRED, code="link_invalid")
    return user_activate_account(user=user, password_hash=password_hash, name=name)


def registration_confirm(*, token: str):
    """The verification link was used: make the account (once). Returns the user."""
    _require_mode(PortalSettings.Registration.OPEN)
    with transaction.atomic():
        pending = (
            EmailVerification.objects.select_for_update()
            .filter(token_hash=digest(token), used_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if pending is None:
            raise ValidationFailed(LINK_EXPIRED, code="link_invalid")
        user = _give_account(email=pending.email, name=pending.name, password_hash=pending.password)
        EmailVerification.objects.filter(email__iexact=pending.email, used_at__isnull=True).update(
            used_at=timezone.now()
        )
    return user


# --- invitations (invite-only mode, or an admin's choice in the open mode) ------------


def invitation_validate(*, actor, email: str) -> tuple[PortalSettings, str]:
    """Refuse an invitation that could not be made (admin forms check before saving)."""
    if not is_system(actor) and not (
        is_agent(actor) and perms.has_agent_perm(actor, "user.manage")
    ):
        raise PermissionRefused(
            "You need the user.manage permission for this.", code="permission_denied"
        )
    config = _require_mode(PortalSettings.Registration.OPEN, PortalSettings.Registration.INVITE)
    email = (email or "").strip().lower()
    existing = user_find_by_email(email)
    if existing is not None and (existing.is_agent or existing.has_usable_password()):
        raise Conflict(
            f"{email} has an account already.",
            code="account_exists",
            fields={"email": ["This address has an account already."]},
        )
    return config, email


def invitation_create(*, actor, email: str, name: str = "") -> Invitation:
    """Invite a client to register (helpdesk admins and agents with user.manage)."""
    config, email = invitation_validate(actor=actor, email=email)
    name, days = _clean_name(name), config.invitation_days
    with transaction.atomic():
        invitation = _mail_link(
            Invitation,
            template="invitation",
            url="portal:register_invite",
            lifetime=dt.timedelta(days=days),
            context={"name": name or email, "days": days},
            email=email,
            name=name,
            created_by=actor_user(actor),
        )
        changes = {"email": [None, email], "name": [None, name]}
        audit.record("account.invited", actor=actor, target=invitation, changes=changes)
    return invitation


def invitation_accept(*, token: str, name: str, password: str):
    """The invited client chose a password: make the account (once). Returns the user."""
    _require_mode(PortalSettings.Registration.OPEN, PortalSettings.Registration.INVITE)
    with transaction.atomic():
        invitation = invitation_usable(token=token)
        if invitation is None:
            raise ValidationFailed(LINK_EXPIRED, code="link_invalid")
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_usable:
            raise ValidationFailed(LINK_EXPIRED, code="link_invalid")
        user = _give_account(
            email=invitation.email,
            name=_clean_name(name) or invitation.name,
            password_hash=make_password(password),
        )
        invitation.accepted_at, invitation.user = timezone.now(), user
        invitation.save(update_fields=["accepted_at", "user"])
    return user


# --- one-time form tokens ----------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    ticket: Ticket | None
    entry_id: int | None
    duplicate: bool


FORM_TOKEN_DAYS = 2


def submit_once(*, nonce: str, action: Callable[[], tuple[Ticket, int | None]]) -> Submitted:
    """Run `action` once per form token. A second request with the same token (double
    click, refresh, back and resend) waits for the first and gets what it made.

    The claim and the action share one transaction: if the action fails, the token is
    free again so the corrected form can be sent with it.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = FormSubmission.objects.create(nonce=nonce)
        except IntegrityError:
            done = FormSubmission.objects.select_related("ticket").filter(nonce=nonce).first()
            return Submitted(
                ticket=done.ticket if done else None,
                entry_id=done.entry_id if done else None,
                duplicate=True,
            )
        ticket, entry_id = action()
        claim.ticket, claim.entry_id = ticket, entry_id
        claim.save(update_fields=["ticket", "entry_id"])
    _purge_old_tokens()
    return Submitted(ticket=ticket, entry_id=entry_id, duplicate=False)


def _purge_old_tokens() -> None:
    cutoff = timezone.now() - dt.timedelta(days=FORM_TOKEN_DAYS)
    FormSubmission.objects.filter(created_at__lt=cutoff).delete()
