"""Changes of the mail channel's own state that are not a ticket's: undeliverable
addresses, fetches asked for by an admin. Keyword-only, with an explicit actor, like
every service."""

import logging

from django.db import transaction

from accounts.actors import actor_label, is_agent, is_system
from accounts.compiled import KeptSelect
from accounts.errors import PermissionRefused, ValidationFailed

from .models import Mailbox, UndeliverableAddress

log = logging.getLogger(__name__)


def _normal(address: str) -> str:
    address = (address or "").strip().lower()
    if "@" not in address or " " in address or len(address) > 254:
        raise ValidationFailed(f"{address!r} is not an email address.", code="invalid_address")
    return address


def address_mark_undeliverable(*, actor, address: str, reason: str) -> UndeliverableAddress:
    """A hard bounce: stop mailing the address (only the system decides this, from a
    bounce of a mail we sent to it)."""
    if not is_system(actor):
        raise PermissionRefused("Only the mail channel marks addresses undeliverable.")
    address = _normal(address)
    with transaction.atomic():
        row, created = UndeliverableAddress.objects.get_or_create(
            address=address, defaults={"reason": reason[:500]}
        )
        if not created:
            UndeliverableAddress.objects.filter(pk=row.pk).update(reason=reason[:500])
    log.info("mail: %s marked undeliverable: %s", address, reason)
    return row


def address_clear_undeliverable(*, actor, address: str, why: str = "") -> bool:
    """Mail to the address again: an agent cleared it, or (the system) verified mail
    from it arrived. True when it was marked."""
    if not (is_agent(actor) or is_system(actor)):
        raise PermissionRefused("Only agents clear an undeliverable address.")
    address = _normal(address)
    deleted, _ = UndeliverableAddress.objects.filter(address=address).delete()
    if deleted:
        log.info("mail: %s deliverable again (%s, %s)", address, actor_label(actor), why)
    return bool(deleted)


def undeliverable(addresses) -> dict[str, UndeliverableAddress]:
    """{address: row} of the given addresses that are marked undeliverable (one query)."""
    wanted = sorted({(a or "").strip().lower() for a in addresses if a})
    if not wanted:
        return {}
    # compiled once per process for each number of addresses (KeptSelect)
    named = {f"address{i}": address for i, address in enumerate(wanted)}
    return {row.address: row for row in _KEPT_UNDELIVERABLE(len(wanted), **named)}


_KEPT_UNDELIVERABLE = KeptSelect(
    lambda count, **named: UndeliverableAddress.objects.filter(
        address__in=[named[f"address{i}"] for i in range(count)]
    )
)


def mailboxes_queue_fetch(*, actor, mailbox_ids: list[int]) -> int:
    """An admin's "Fetch now": one fetch per mailbox, written to the outbox; a worker or
    the periodic job talks to the mail server, never the admin's request. Returns how
    many fetches were queued."""
    from helpdesk.outbox.services import enqueue_many

    from .tasks import fetch_mailbox_task

    if not (is_agent(actor) and actor.is_helpdesk_admin):
        raise PermissionRefused("Only helpdesk admins fetch mail by hand.")
    with transaction.atomic():
        ids = list(Mailbox.objects.filter(pk__in=mailbox_ids).values_list("pk", flat=True))
        enqueue_many(fetch_mailbox_task, [((pk,), {}) for pk in ids])
    return len(ids)


def email_templates_seed_languages(*, actor, languages: list[str] | None = None) -> int:
    """The default set's template in each shipped language (or `languages`), made from
    the default in code rendered in that language, so admins can edit them. A row that
    exists is left as it is (an admin's edit is never overwritten); a language whose
    catalogue does not translate a template gets no row for it (an English copy in its
    place would hide the translation when the catalogue gets it: until then the default
    in code is mailed, in English). Returns how many rows were made."""
    from django.utils import translation

    from accounts.languages import shipped

    from .models import EmailTemplate, EmailTemplateSet
    from .templates import DEFAULTS, default_html, default_texts

    if not (is_system(actor) or getattr(actor, "is_staff", False)):
        raise PermissionRefused("Only admins seed email templates.", code="permission_denied")
    wanted = shipped() if languages is None else languages
    unknown = sorted(set(wanted) - set(shipped()))
    if unknown:
        raise ValidationFailed(
            f"Not a shipped language: {', '.join(unknown)}.", code="invalid_language"
        )
    made = 0
    with transaction.atomic():
        default_set, _ = EmailTemplateSet.objects.get_or_create(
            is_default=True, defaults={"name": "Default"}
        )
        have = set(
            EmailTemplate.objects.filter(template_set=default_set).values_list("code", "language")
        )
        rows = []
        for language in wanted:
            with translation.override(language):
                texts = {code: default_texts(code) for code in DEFAULTS}
            for code, (subject, text) in texts.items():
                if (code, language) in have or (subject, text) == DEFAULTS[code]:
                    continue
                row = EmailTemplate(
                    template_set=default_set,
                    code=code,
                    language=language,
                    subject=subject[:255],
                    body_html=default_html(text),
                )
                rows.append(row)
        for row in rows:  # save(): the text part is derived from the HTML
            row.save()
            made += 1
    log.info("mail: %d email templates made in %s", made, ", ".join(wanted) or "no language")
    return made
