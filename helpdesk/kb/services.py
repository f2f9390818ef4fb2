"""Canned responses: managed by agents with canned.manage, inserted into replies.

Variables use osTicket's syntax, %{ticket.number}, and are filled from a fixed list
(no template code runs): values are HTML-escaped into the sanitised body.
"""

import html
import re

from django.db import IntegrityError, transaction
from django.utils import translation

from accounts import permissions as perms
from accounts.actors import actor_user, is_agent, is_system
from accounts.errors import Conflict, PermissionRefused, ValidationFailed
from helpdesk.translations import client_language, status_name, topic_name, translated
from threads.html import html_to_text, sanitize_html
from threads.services import NewAttachment, files_store

from .models import CannedAttachment, CannedResponse

VARIABLES = {
    "ticket.number": lambda t, a: t.number,
    "ticket.subject": lambda t, a: t.subject,
    "ticket.status": lambda t, a: status_name(t.status, for_client=False),
    "ticket.priority": lambda t, a: t.priority.name,
    "ticket.department": lambda t, a: t.department.name,
    "ticket.topic": lambda t, a: topic_name(t.topic) if t.topic_id else "",
    "ticket.due_date": lambda t, a: (
        t.effective_due_at.strftime("%Y-%m-%d %H:%M UTC") if t.effective_due_at else ""
    ),
    "recipient.name": lambda t, a: t.requester.display_name,
    "recipient.email": lambda t, a: t.requester.email,
    "staff.name": lambda t, a: a.display_name if a is not None else "",
    "staff.signature": lambda t, a: a.signature if a is not None else "",
}
_VAR = re.compile(r"%\{([a-z_.]+)\}")


def _check_manage(actor, department) -> None:
    if is_system(actor):
        return
    if not is_agent(actor):
        raise PermissionRefused("Only agents manage canned responses.", code="permission_denied")
    if department is None:
        allowed = actor.is_helpdesk_admin or perms.has_role_perm(
            actor, "canned.manage", actor.department_id
        )
        where = "your primary department"
    else:
        allowed = perms.has_role_perm(actor, "canned.manage", department.pk)
        where = department.name
    if not allowed:
        raise PermissionRefused(
            f"Your role in {where} does not allow canned.manage.", code="permission_denied"
        )


def _clean(title: str, body: str) -> tuple[str, str]:
    title = " ".join((title or "").split())[:255]
    body_html = sanitize_html(body)
    errors = {}
    if not title:
        errors["title"] = ["This field is required."]
    if not html_to_text(body_html):
        errors["body"] = ["This field is required."]
    if errors:
        raise ValidationFailed("A canned response needs a title and a body.", fields=errors)
    return title, body_html


def canned_create(
    *,
    actor,
    title: str,
    body: str,
    department=None,
    notes: str = "",
    files: list[NewAttachment] = (),
) -> CannedResponse:
    _check_manage(actor, department)
    title, body_html = _clean(title, body)
    stored = files_store(list(files))
    try:
        with transaction.atomic():
            canned = CannedResponse.objects.create(
                title=title,
                body_html=body_html,
                department=department,
                notes=notes,
                created_by=actor_user(actor),
            )
            CannedAttachment.objects.bulk_create(
                CannedAttachment(
                    canned=canned, file=f, filename=spec.filename, content_type=spec.content_type
                )
                for spec, f in stored
            )
    except IntegrityError:
        raise Conflict(
            f"A canned response titled {title!r} already exists there.", code="canned_exists"
        ) from None
    return canned


def canned_update(
    *, actor, canned: CannedResponse, title=None, body=None, is_active=None, notes=None
):
    _check_manage(actor, canned.department)
    new_title, new_body = _clean(
        title if title is not None else canned.title, body if body is not None else canned.body_html
    )
    canned.title, canned.body_html = new_title, new_body
    if is_active is not None:
        canned.is_active = is_active
    if notes is not None:
        canned.notes = notes
    try:
        with transaction.atomic():
            canned.save()
    except IntegrityError:
        raise Conflict(
            f"A canned response titled {new_title!r} already exists there.", code="canned_exists"
        ) from None
    return canned


def canned_delete(*, actor, canned: CannedResponse) -> None:
    _check_manage(actor, canned.department)
    canned.delete()


def canned_render(
    *, canned: CannedResponse, ticket, agent=None, language: str | None = None
) -> str:
    """The body with its variables filled in for this ticket (safe HTML), in `language`
    (None: the ticket's client's, helpdesk.translations.client_language): its
    translation there, else the original; the values (a status name) in it too."""
    agent = actor_user(agent)
    language = language or client_language(ticket)

    def fill(match):
        getter = VARIABLES.get(match.group(1))
        return html.escape(str(getter(ticket, agent))) if getter else match.group(0)

    with translation.override(language):
        return _VAR.sub(fill, translated(canned, "body_html"))
